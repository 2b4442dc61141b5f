"""A lost box back (issue 15): commands and machine time from an EMPTY home to the first accepted
order, from SFTP (real sshd) and from S3 (real S3 server), on the demo database.

The shop: `appliance init --demo`, its NAS and bucket as targets, a till token, one `backup run`; the
recovery kit's facts (key line, host, port, path, pinned host key, bucket, endpoint, access key id)
and the two files the shop keeps offline (the NAS's SSH key, the S3 secret) are all the new box gets.
On the new box, per target, the commands an admin types after installing the software:

    1. appliance restore --from sftp://USER@HOST:PORT/PATH --host-key LINE --ssh-key FILE --key-file FILE
       (or  --from s3://BUCKET/PREFIX --endpoint URL --access-key-id ID --secret-key-stdin --key-file FILE)
    2. appliance serve          (on an installed box: systemctl start appliance)

timed from the restore's start to the till's first order answered 201 (the number going on from the
old box's last). Aim: <= 3 commands (with deploy/install.sh, which is not timed) and <= 10 s.

    .venv/bin/python -m bench rebuild
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AIM_SECONDS = 10
AIM_COMMANDS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(appliance: str, home: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "APPLIANCE_HOME": str(home)}
    env.pop("APPLIANCE_DATABASE_URL", None)
    done = subprocess.run([appliance, "--home", str(home), *args], env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`appliance {' '.join(args[:2])}` failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def order(port: int, token: str, sku: str) -> dict | None:
    body = json.dumps({"channel": "phone", "lines": [{"sku": sku, "qty": 1}], "note": "rebuild bench"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/orders", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read()) if answer.status == 201 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def back_in(appliance: str, home: Path, restore_args: list[str], stdin: str | None, token: str, sku: str) -> dict:
    """Runs the commands on an empty home; seconds per phase, to the first accepted order."""
    started, cpu_before = time.monotonic(), children_cpu()
    sh(appliance, home, "restore", *restore_args, "--quiet", stdin=stdin)
    restored, restore_cpu = time.monotonic() - started, children_cpu() - cpu_before
    port = free_port()
    env = {**os.environ, "APPLIANCE_HOME": str(home)}
    env.pop("APPLIANCE_DATABASE_URL", None)
    server = subprocess.Popen([appliance, "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        accepted = None
        while accepted is None and time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"serve exited: {server.stderr.read().decode()[-500:]}")
            accepted = order(port, token, sku)
            if accepted is None:
                time.sleep(0.05)
        total = time.monotonic() - started
        if accepted is None:
            raise SystemExit("no order was accepted within 60 s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    # CPU of both commands (serve's includes its shutdown): what the time would be on an idle box
    return {"commands": 2, "restore_seconds": round(restored, 2), "serve_to_order_seconds": round(total - restored, 2),
            "total_seconds": round(total, 2), "cpu_seconds": round(children_cpu() - cpu_before, 2),
            "restore_cpu_seconds": round(restore_cpu, 2),
            "order_number": accepted["number"]}


def children_cpu() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(workdir: Path) -> int:
    from tests.backup.helpers import s3_target, sftp_target, write_targets
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3
    from tests.servers.sshd import start_sshd

    appliance = str(Path(sys.executable).parent / "appliance")
    sshd, s3 = start_sshd(workdir / "sshd"), start_s3(workdir / "s3")
    try:
        shop = workdir / "shop"
        sh(appliance, shop, "init", "--demo")
        bucket = s3.new_bucket()
        write_targets(shop, [sftp_target("nas", sshd, "shop"), s3_target("offsite", s3, bucket, shop)],
                      {"retries_in_run": 0})
        token = sh(appliance, shop, "token", "create", "--name", "till", "--role", "staff").strip().splitlines()[-1]
        backup_id = sh(appliance, shop, "backup", "run", "--quiet").split()[1]
        kit_key = workdir / "kit-backup.key"
        kit_key.write_text(sh(appliance, shop, "backup", "key", "export"))
        import sqlite3
        with sqlite3.connect(shop / "appliance.db") as conn:
            last = conn.execute("SELECT number FROM orders ORDER BY id DESC LIMIT 1").fetchone()[0]
            sku = conn.execute("SELECT p.sku FROM product p JOIN stock_level s ON s.product_id = p.id "
                               "WHERE s.on_hand > 10 LIMIT 1").fetchone()[0]
        db_mb = (shop / "appliance.db").stat().st_size / 1048576
        print(f"shop: demo database {db_mb:.1f} MiB, last order {last}, backup {backup_id} on nas and offsite")
        ways = {
            "sftp": (["--from", f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{sshd.root / 'shop'}",
                      "--host-key", f"[127.0.0.1]:{sshd.port} {sshd.host_key}", "--ssh-key", str(sshd.client_key),
                      "--key-file", str(kit_key)], None),
            "s3": (["--from", f"s3://{bucket}/shop1", "--endpoint", s3.endpoint, "--access-key-id", ACCESS_KEY,
                    "--secret-key-stdin", "--key-file", str(kit_key)], SECRET_KEY + "\n"),
        }
        worst = 0.0
        for kind, (args, stdin) in ways.items():
            figures = back_in(appliance, workdir / f"new-{kind}", args, stdin, token, sku)
            worst = max(worst, figures["total_seconds"])
            print(f"from {kind:<4}: {figures['commands']} commands (+ install.sh = {figures['commands'] + 1}); "
                  f"restore {figures['restore_seconds']:.2f} s + serve to first order {figures['serve_to_order_seconds']:.2f} s "
                  f"= {figures['total_seconds']:.2f} s (CPU {figures['cpu_seconds']:.2f} s, of which restore {figures['restore_cpu_seconds']:.2f} s); first order {figures['order_number']} (last was {last})")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        verdict = "met" if worst <= AIM_SECONDS else "NOT met"
        print(f"aim: <= {AIM_COMMANDS} commands and <= {AIM_SECONDS} s from an empty home to the first order: {verdict}")
        return 0 if worst <= AIM_SECONDS else 1
    finally:
        sshd.stop()
        s3.stop()


def main() -> int:
    from cli.wiring import register_settings
    register_settings()
    with tempfile.TemporaryDirectory(prefix="rebuild-bench-") as folder:
        return run(Path(folder))


if __name__ == "__main__":
    sys.exit(main())
