"""The replica leaves the box encrypted: Litestream writes it to a local outbox folder, and the
shipper seals each of its files with the backup key before copying it to the replica's target.

Why not Litestream's own replica clients: Litestream v0.5 refuses its `age` encryption (it was
disabled upstream after 0.5.0 silently wrote plaintext: benbjohnson/litestream#790, #791), and every
copy that leaves the box must be encrypted. So Litestream replicates to a `file` replica on this box
(`backup.replication.outbox`), and the appliance ships that folder.

- Outbox: Litestream's file replica, `ltx/<level>/<min TXID>-<max TXID>.ltx`, each file written to a
  temporary name and renamed (so a listed `.ltx` is complete). Level 0 holds each synced batch of
  transactions, levels 1-3 compactions, level 9 snapshots of the whole database.
- Remote: `<level>/<min>-<max>.ltx.aes` under the replica location, each the LTX file in the backups'
  chunked AES-256-GCM format (backup/crypto.py, the backup key's encryption key): a changed, swapped in
  part, truncated or foreign file fails decryption, and Litestream checks every LTX checksum on restore.
- One pass (`ship_once`): upload every outbox file not yet shipped with its current size and mtime, in
  the order Litestream made them (so the remote is at every moment a state Litestream's own replica
  went through), then delete remote files that left the outbox (compacted or expired by Litestream)
  or that no outbox ever held (an earlier life of the box). Deleting waits until every upload of the
  pass succeeded and the outbox describes the whole database (a level-9 snapshot, or a file starting
  at TXID 1), so an empty or new outbox never empties the remote.
- What was shipped is kept in `run/replica-shipped.json` (key -> size, mtime) so a restart does not
  upload everything again; the remote is listed again every `probe_interval_seconds`, and a file that
  went missing there is shipped again.
- Restore (`fetch`): download and unseal every remote file into a scratch file replica, which
  `litestream restore` then reads; each file's mtime is set to its LTX header time for `--as-of`.
  The box may keep writing meanwhile: Litestream compacts its small files and removes them a few
  minutes later, and the shipper then removes them from the replica, so a listed file can be gone
  by the time it is downloaded. The remote is then listed again and the local copy made to mirror
  the new listing (files that left it dropped, new ones downloaded), until one whole listing is
  down. Every listing is a state Litestream's own replica went through (uploads first, in order,
  removals after), and the files a listing names are checked to chain from TXID 1 to the newest
  one without a gap (a listing read while the shipper changed several levels could miss the
  compacted file that replaced the removed ones); a gap is listed again too.
"""
from __future__ import annotations

import json
import logging
import os
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings

from . import targets
from .crypto import EncryptingWriter, decrypt_chunks
from .errors import BackupError, CorruptCopy, MissingObject, ObjectLocked
from .progress import Progress
from .staging import WorkingFolder, take_folder

log = logging.getLogger(__name__)

JOURNAL_FILE = "run/replica-shipped.json"
SEALED_SUFFIX = ".ltx.aes"
REMOTE_KEY = re.compile(r"^(\d+)/([0-9a-f]{16})-([0-9a-f]{16})\.ltx\.aes$")
LOCAL_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$")
SNAPSHOT_LEVEL = 9
CHUNK = 1024 * 1024
LTX_TIMESTAMP = struct.Struct(">q")  # LTX header: magic, flags, page size, commit, min, max TXID, then ms
LTX_TIMESTAMP_OFFSET = 32
FETCH_ATTEMPTS = 8            # listings a restore tries while files are compacted away under it
FETCH_RETRY_SECONDS = 0.5     # the pause before listing again, doubling up to FETCH_RETRY_MAX_SECONDS
FETCH_RETRY_MAX_SECONDS = 5


@dataclass(frozen=True)
class OutboxFile:
    key: str  # the remote key
    path: Path
    size: int
    mtime_ns: int
    min_txid: int
    max_txid: int

    @property
    def fingerprint(self) -> list[int]:
        return [self.size, self.mtime_ns]


def remote_key(level: int, name: str) -> str:
    return f"{level}/{name[:-len('.ltx')]}{SEALED_SUFFIX}"


def max_txid(key: str) -> int:
    return int(REMOTE_KEY.match(key).group(3), 16)


def outbox_files(outbox: Path) -> dict[str, OutboxFile]:
    """Every complete LTX file in the outbox, by remote key."""
    found = {}
    try:
        levels = [entry for entry in os.scandir(outbox / "ltx") if entry.is_dir() and entry.name.isdigit()]
    except OSError:
        return {}
    for level in levels:
        try:
            entries = list(os.scandir(level.path))
        except OSError:
            continue  # removed by Litestream right now
        for entry in entries:
            match = LOCAL_NAME.match(entry.name)
            if not match:
                continue  # a temporary file Litestream is writing
            try:
                st = entry.stat()
            except OSError:
                continue
            key = remote_key(int(level.name), entry.name)
            found[key] = OutboxFile(key, Path(entry.path), st.st_size, st.st_mtime_ns,
                                    int(match.group(1), 16), int(match.group(2), 16))
    return found


def seal(source: Path, sealed: Path, encryption_key: bytes) -> None:
    with open(source, "rb") as src, open(sealed, "wb") as out:
        writer = EncryptingWriter(out, encryption_key, CHUNK)
        while block := src.read(CHUNK):
            writer.write(block)
        writer.close()


def unseal(sealed: Path, plain: Path, encryption_key: bytes, where: str) -> None:
    with open(sealed, "rb") as src, open(plain, "wb") as out:
        for block in decrypt_chunks(src, encryption_key, where):
            out.write(block)


def ltx_time(path: Path) -> float:
    """The capture time an LTX file's header carries (epoch seconds, the box's clock)."""
    with open(path, "rb") as f:
        f.seek(LTX_TIMESTAMP_OFFSET)
        (ms,) = LTX_TIMESTAMP.unpack(f.read(LTX_TIMESTAMP.size))
    return ms / 1000


def open_replica_target(settings: Settings, t, location: str):
    """The replica's target `t`, rooted at the replica location; never Object Lock (files are replaced
    and deleted as Litestream compacts; the sealed archives are what Object Lock protects)."""
    root = {"path": location} if t.kind == "sftp" else {"prefix": location}
    lock = {"object_lock_days": 0} if t.kind == "s3" else {}
    return targets.build(t.model_copy(update={**root, **lock}), settings)


class Shipper:
    """Mirrors the outbox to the replica, sealed. One per box (it runs under the supervisor's lock)."""

    def __init__(self, settings: Settings, target_settings, location: str, description: str,
                 outbox: Path, encryption_key: bytes):
        self.settings = settings
        self.outbox = outbox
        self.description = description
        self._key = encryption_key
        self._target = open_replica_target(settings, target_settings, location)
        self._journal_path = settings.path(JOURNAL_FILE)
        self._scratch: WorkingFolder | None = None  # this shipper's own folder in the staging dir
        self._shipped: dict[str, list[int]] = self._load_journal()
        self._strays: set[str] = set()
        self._undeletable: set[str] = set()
        self._listed_at = 0.0
        # Read by the supervisor's thread: plain values, replaced whole at the end of each good pass.
        self.replica_txid: int | None = None  # the newest transaction the remote holds; None before a pass
        self.confirmed_at: float | None = None  # when the remote was last known to hold it

    def ship_once(self) -> bool:
        """One pass; True when it changed the remote. Raises TargetUnavailable (nothing lost: the
        next pass starts from what the journal says)."""
        if time.time() - self._listed_at >= self.settings.backup.replication.probe_interval_seconds:
            self._reconcile()
        local = outbox_files(self.outbox)
        pending = sorted((f for f in local.values() if self._shipped.get(f.key) != f.fingerprint),
                         key=lambda f: (f.mtime_ns, f.key))
        try:
            for f in pending:
                self._upload(f)
        finally:
            if pending:
                self._save_journal()
        deleted = self._delete_gone(local)
        self.replica_txid = max((max_txid(k) for k in self._shipped), default=0)
        self.confirmed_at = time.time()
        return bool(pending or deleted)

    def close(self) -> None:
        self._target.close()
        if self._scratch is not None:
            self._scratch.release()
            self._scratch = None

    # -- steps --------------------------------------------------------------------------------

    def _reconcile(self) -> None:
        """What the remote really holds: forget shipped files that went missing there (they are
        shipped again) and remember files no outbox of ours shipped (deleted once the outbox is whole)."""
        remote = {k for k in self._target.list() if REMOTE_KEY.match(k)}
        missing = set(self._shipped) - remote
        if missing:
            log.warning("replica %s lost %d file(s); shipping them again", self.description, len(missing))
            for key in missing:
                del self._shipped[key]
            self._save_journal()
        self._strays = remote - set(self._shipped)
        self._listed_at = time.time()

    def _upload(self, f: OutboxFile) -> None:
        if self._scratch is None:  # owned by this shipper: a backup run starting now leaves it alone
            self._scratch = take_folder(self.settings, "replica-sealing")
        sealed = self._scratch.path / f"{f.path.name}.aes"
        try:
            try:
                seal(f.path, sealed, self._key)
            except FileNotFoundError:
                return  # Litestream removed it meanwhile (compacted): nothing to ship
            self._target.put(sealed, f.key)
        finally:
            sealed.unlink(missing_ok=True)
        self._shipped[f.key] = f.fingerprint
        self._strays.discard(f.key)

    def _delete_gone(self, local: dict[str, OutboxFile]) -> int:
        if not any(f.min_txid == 1 or f.key.startswith(f"{SNAPSHOT_LEVEL}/") for f in local.values()):
            return 0  # the outbox does not describe the whole database yet (no snapshot, no history from TXID 1)
        gone = sorted((set(self._shipped) | self._strays) - set(local) - self._undeletable)
        for key in gone:
            try:
                self._target.delete(key)
            except ObjectLocked:
                log.warning("replica file %s is under Object Lock; left in place", key)
                self._undeletable.add(key)
            self._shipped.pop(key, None)
            self._strays.discard(key)
        if gone:
            self._save_journal()
        return len(gone)

    # -- journal ------------------------------------------------------------------------------

    def _load_journal(self) -> dict[str, list[int]]:
        try:
            data = json.loads(self._journal_path.read_text())
        except (OSError, ValueError):
            return {}
        if data.get("replica") != self.description:
            return {}  # shipped somewhere else: this replica starts from nothing
        return {k: v for k, v in data.get("files", {}).items() if REMOTE_KEY.match(k)}

    def _save_journal(self) -> None:
        self._journal_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._journal_path.with_name(self._journal_path.name + ".tmp")
        tmp.write_text(json.dumps({"replica": self.description, "files": self._shipped}))
        os.replace(tmp, self._journal_path)


def fetch(settings: Settings, target_settings, location: str, description: str, encryption_key: bytes,
          into: Path, show_progress: bool = True) -> int:
    """Downloads and unseals the replica's files into `into` (a Litestream file replica); returns how many.

    While the box writes, files leave the replica under a restore (compacted by Litestream, then
    removed by the shipper): a file gone before it was downloaded, or a listing with a gap, makes
    it list again and mirror the new listing, keeping what it already has (FETCH_ATTEMPTS times)."""
    target = open_replica_target(settings, target_settings, location)
    download = into.with_name(into.name + ".download")
    held: dict[str, Path] = {}  # key -> its unsealed file in `into`
    pause = FETCH_RETRY_SECONDS
    try:
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            keys = [k for k in target.list() if REMOTE_KEY.match(k)]
            if not keys:
                raise BackupError(f"The replica {description} holds no files: nothing to restore.")
            for key in set(held) - set(keys):  # left the replica since the last listing: compacted
                held.pop(key).unlink(missing_ok=True)
            gap = chain_gap(keys)
            try:
                if gap is not None:
                    raise _ListingChanged(f"the listing has no file after transaction {gap:#x}")
                _download(target, [k for k in keys if k not in held], held, into, download, description,
                          encryption_key, show_progress)
                return len(keys)
            except (_ListingChanged, MissingObject) as e:
                why = e.message if isinstance(e, MissingObject) else str(e)
                if attempt == FETCH_ATTEMPTS:
                    raise BackupError(f"The replica {description} kept changing while it was downloaded "
                                      f"({FETCH_ATTEMPTS} listings; last: {why}); nothing was changed. "
                                      "Try again, or stop the box that writes to it.") from None
                log.info("replica %s changed while it was downloaded (%s); listing it again", description, why)
                time.sleep(pause)
                pause = min(FETCH_RETRY_MAX_SECONDS, pause * 2)
        raise AssertionError("unreachable")
    finally:
        download.unlink(missing_ok=True)
        target.close()


class _ListingChanged(Exception):
    pass


def chain_gap(keys: list[str]) -> int | None:
    """None when the files lead from TXID 1 to the newest TXID they hold, as Litestream's restore
    plan goes (from what it has, the file reaching furthest among those starting at most one past
    it, at any level); else the TXID after which nothing follows."""
    ranges = [(int(m.group(2), 16), int(m.group(3), 16)) for m in map(REMOTE_KEY.match, keys) if m]
    newest = max(hi for _, hi in ranges)
    reached = 0
    while True:
        further = max((hi for lo, hi in ranges if lo <= reached + 1 and hi > reached), default=None)
        if further is None:
            return None if reached >= newest else reached
        reached = further


def _download(target, keys: list[str], held: dict[str, Path], into: Path, download: Path, description: str,
              encryption_key: bytes, show_progress: bool) -> None:
    total = sum(info.size for info in map(target.stat, keys) if info) if show_progress else None
    progress = Progress(f"replica: download {len(keys)} files", total, enabled=show_progress)
    for key in keys:
        level, name = key.split("/")
        plain = into / "ltx" / level / (name[:-len(SEALED_SUFFIX)] + ".ltx")
        plain.parent.mkdir(parents=True, exist_ok=True)
        target.get(key, download, progress)
        try:
            unseal(download, plain, encryption_key, f"the replica file {key}")
        except CorruptCopy as e:
            raise BackupError(f"{e.message} The replica {description} was sealed with another backup key "
                              "(keys/backup.key must be the one of the box that made it), or the file "
                              "was damaged. Nothing was changed.") from None
        captured = ltx_time(plain)
        os.utime(plain, (captured, captured))  # restore --as-of goes by the file times
        held[key] = plain
    progress.finish()
