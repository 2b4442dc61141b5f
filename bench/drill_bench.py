"""Drill benchmark (issue 11): the RTO a drill measures on a generated order database — `box-lost`
from SFTP and from S3, and `disk-failed` from the Litestream replica (on the SFTP server) — each
from the drill's start to the first order the restored instance accepts. The reference, measured in
the same run: `appliance restore` from each target (the restore alone, without the drill) against
restic restoring the same database file from the same server (its sftp and s3 backends), and
restic from a local repository (the floor of any restore).

Aims: each drill's RTO <= 30 s on the 1 GB database; each restore alone no slower than restic's from
the same server (ratio <= 1.0, both timed until the file is on disk).

The machine's noise is about 2x run to run (restic's own time too), so ours and restic's restores
alternate for `--rounds` rounds per target (who goes first alternates as well), each round is
printed, and the verdict goes by the median of the rounds' ratios.

    .venv/bin/python -m bench drill                      # 1 GB (several minutes: generation, backup, replica)
    .venv/bin/python -m bench drill -- --size-mb 100     # quick
    .venv/bin/python -m bench drill -- --size-mb 256 --rounds 5 --no-drills   # the restores alone
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.backup_bench import MIB, ensure_tools, generate, measured  # noqa: E402

AIM_SECONDS = 30


def drill(appliance: str, env: dict, runbook: str, target: str | None) -> dict:
    command = [appliance, "drill", "run", runbook, "--json"] + (["--target", target] if target else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"succeeded": False, "reason": (done.stderr or done.stdout)[-300:], "rto_seconds": None,
                "rpo_seconds": None}


def slowest_steps(home: Path, result: dict, count: int = 4) -> str:
    """The drill's slowest steps from its journal (where an RTO goes)."""
    from datetime import datetime
    from runbooks.journal import Journal
    if not result.get("drill_id"):
        return ""
    steps = Journal(home, result["drill_id"]).view().steps.values()
    took = sorted(((datetime.fromisoformat(s.ended) - datetime.fromisoformat(s.started)).total_seconds(), s.id)
                  for s in steps if s.started and s.ended)
    return ", ".join(f"{sid} {seconds:.1f} s" for seconds, sid in reversed(took[-count:]))


def wait_for_replica(settings, timeout: float) -> float:
    """Seconds until the replica holds every transaction Litestream captured (and it captured some)."""
    from backup import replication
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        facts = replication.facts(settings) or {}
        if facts.get("lag_seconds") == 0.0 and (facts.get("replica_txid") or 0) >= (facts.get("local_txid") or 1):
            return time.monotonic() - started
        time.sleep(1)
    raise SystemExit(f"the replica did not catch up within {timeout:.0f} s")


def run(size_mb: int, workdir: Path, rounds: int = 3, drills: bool = True) -> None:
    from appliance import config
    from cli.wiring import register_settings
    from tests.backup.helpers import s3_target, sftp_target, write_targets
    from tests.conftest import make_home
    from tests.servers.s3 import start_s3
    from tests.servers.sshd import start_sshd

    register_settings()
    ensure_tools()
    home = make_home(workdir / "home")
    counts = generate(home / "appliance.db", size_mb)
    db_bytes = (home / "appliance.db").stat().st_size
    appliance = str(Path(sys.executable).parent / "appliance")
    env = {**os.environ, "APPLIANCE_HOME": str(home)}
    sshd, s3 = start_sshd(workdir / "sshd"), start_s3(workdir / "s3")
    supervisor = None
    rows = []
    replica_seconds = None
    try:
        targets = [sftp_target("nas", sshd, "shop"), {**s3_target("offsite", s3, s3.new_bucket(), home),
                                                      "timeout_seconds": 60}]
        write_targets(home, targets, {"replication": {"enabled": True, "target": "nas"}})
        settings = config.load(home)
        subprocess.run([appliance, "backup", "run", "--quiet"], env=env, check=True, capture_output=True)
        if drills:
            supervisor = subprocess.Popen([appliance, "replication", "run"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
            replica_seconds = wait_for_replica(settings, timeout=900)

        local = ResticRepo(home / "appliance.db", workdir, str(workdir / "restic-repo"))
        restic, restic_synced = local.restore()
        # restic from the same servers as our targets: "restore from each target no slower than restic"
        same_target = {"nas": restic_on_sftp(home / "appliance.db", workdir, sshd),
                       "offsite": restic_on_s3(home / "appliance.db", workdir, s3)}
        plain_restores = {target: [] for target in same_target}
        for round_number in range(rounds):
            for target, theirs in same_target.items():
                plain_restores[target].append(restore_round(appliance, env, workdir, target, theirs,
                                                            restic_first=round_number % 2 == 1))
        if drills:
            for target in ("nas", "offsite"):
                os.sync()
                rows.append((f"box-lost from {target}", drill(appliance, env, "box-lost", target),
                             statistics.median(own for own, _ in plain_restores[target])))
            os.sync()
            rows.append(("disk-failed from the replica", drill(appliance, env, "disk-failed", None), None))
    finally:
        if supervisor is not None:
            supervisor.terminate()
            supervisor.wait(30)
        sshd.stop()
        s3.stop()

    caught_up = f"replica caught up in {replica_seconds:.0f} s; " if replica_seconds is not None else ""
    print(f"database: {db_bytes / MIB:.0f} MiB, {counts['orders']:,} orders; {caught_up}restic restores the file "
          f"from a local repository in {restic:.1f} s ({restic_synced:.1f} s until it is on disk: restic does not "
          "fsync, our restore does)")
    print(f"restore alone against restic restoring the same file from the same server, alternating, {rounds} "
          "round(s) (both until on disk, as ours fsyncs; restic's own time, without the sync, in brackets):")
    for target, results in plain_restores.items():
        for number, (own, (theirs, theirs_synced)) in enumerate(results, 1):
            print(f"  {target:<8} round {number}: ours {own:5.1f} s, restic {theirs_synced:5.1f} s ({theirs:.1f} s): "
                  f"ratio {own / theirs_synced:.2f}")
        ratio = statistics.median(own / theirs_synced for own, (_, theirs_synced) in results)
        own_median = statistics.median(own for own, _ in results)
        print(f"  {target:<8} median ratio {ratio:.2f}  {'MET' if ratio <= 1.0 else 'NOT MET'} (aim <= 1.0); "
              f"median ours {own_median:.1f} s, against the local-repository floor {own_median / restic_synced:.2f}")
    if not drills:
        return
    print(f"{'drill':<32}{'RTO s':>8}{'RPO s':>8}{'restore alone s':>17}{'RTO/restic':>12}  aim RTO <= {AIM_SECONDS} s")
    for name, result, plain in rows:
        rto, rpo = result.get("rto_seconds"), result.get("rpo_seconds")
        verdict = ("MET" if rto is not None and rto <= AIM_SECONDS else "NOT MET") if result.get("succeeded") \
            else f"FAILED: {result.get('reason')}"
        print(f"{name:<32}{_num(rto):>8}{_num(rpo):>8}{_num(plain):>17}"
              f"{(f'{rto / restic:.2f}' if rto else '-'):>12}  {verdict}")
        print(f"{'':<4}slowest steps: {slowest_steps(home, result)}")


def restore_round(appliance: str, env: dict, workdir: Path, target: str, theirs: "ResticRepo",
                  restic_first: bool) -> tuple[float, tuple[float, float]]:
    """One round on one target: our `appliance restore` (until its fsync is done) and restic's restore
    from the same server (until `sync` is done), one right after the other in the order given."""
    def ours() -> float:
        out = workdir / f"restored-{target}.db"
        os.sync()
        seconds = measured([appliance, "restore", "--target", target, "--output", str(out), "--quiet"], env).seconds
        out.unlink(missing_ok=True)
        return seconds

    if restic_first:
        restic = theirs.restore()
        return ours(), restic
    own = ours()
    return own, theirs.restore()


class ResticRepo:
    """A restic repository at `repo` holding the database file (made once), restored as often as asked."""

    def __init__(self, db: Path, workdir: Path, repo: str, env_extra: dict | None = None,
                 options: list[str] | None = None):
        self.env = {**os.environ, "RESTIC_PASSWORD": "bench-password", **(env_extra or {})}
        self.repo, self.options, self.out = repo, options or [], workdir / "restic-out"
        src = workdir / "restic-src"
        src.mkdir(exist_ok=True)
        shutil.copy(db, src / "appliance.db")
        subprocess.run(["restic", "init", "-q", "--repo", repo, *self.options], env=self.env, check=True,
                       capture_output=True)
        subprocess.run(["restic", "backup", "-q", "--repo", repo, *self.options, "appliance.db"], env=self.env,
                       cwd=src, check=True, capture_output=True)
        shutil.rmtree(src)

    def restore(self) -> tuple[float, float]:
        """restic's restore of the database file, and that plus the `sync` that puts it on disk. Every
        timed run here starts after a sync: none pays for the writeback of the one before (restic leaves
        its 1 GB dirty in the page cache, which made the next restore's fsync wait for it)."""
        os.sync()
        started = time.monotonic()
        seconds = measured(["restic", "restore", "-q", "--repo", self.repo, *self.options, "latest", "--target",
                            str(self.out)], self.env).seconds
        os.sync()
        synced = time.monotonic() - started
        shutil.rmtree(self.out, ignore_errors=True)
        return seconds, synced


def restic_on_sftp(db: Path, workdir: Path, sshd) -> ResticRepo:
    """restic on the same SFTP server as our `nas` target (its sftp backend runs the system ssh)."""
    known = workdir / "restic-known-hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_key}\n")
    ssh = (f"ssh -p {sshd.port} -i {sshd.client_key} -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
           f"-o BatchMode=yes {sshd.user}@127.0.0.1 -s sftp")
    return ResticRepo(db, workdir, f"sftp:{sshd.user}@127.0.0.1:{sshd.root / 'restic'}",
                      options=["-o", f"sftp.command={ssh}"])


def restic_on_s3(db: Path, workdir: Path, s3) -> ResticRepo:
    """restic on the same S3 server as our `offsite` target."""
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY
    return ResticRepo(db, workdir, f"s3:{s3.endpoint}/{s3.new_bucket()}/restic",
                      env_extra={"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})


def _num(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="Size of the generated database (default 1024).")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Rounds of our restore and restic's, alternating, per target (default 3).")
    parser.add_argument("--no-drills", action="store_true", help="Only the restores against restic's.")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="drill-bench-"))
    try:
        run(args.size_mb, workdir, max(1, args.rounds), drills=not args.no_drills)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
