"""A child started in a session of its own (Litestream under its supervisor, the `ssh` of an SFTP
target) is, for Linux's autogroup scheduler (sched(7)), a group of its own that shares the CPU with
the appliance's group as an equal whatever its nice value: appliance/processes.py `share_cpu_at`
gives that group its parent's nice value. Read back from /proc/PID/autogroup of live processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.durability.served import REPO

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"),
                                reason="this kernel has no autogroups (CONFIG_SCHED_AUTOGROUP)")

# A parent at nice 7 (a background job) that supervises `sleep` in a session of its own, as the
# replication supervisor does Litestream, and says what the kernel says of both groups.
NICED_SUPERVISOR = """
import json, os, time
from appliance.processes import ChildSupervisor
os.nice(7)
child = ChildSupervisor("sleeper", lambda: ["sleep", "30"], own_session=True)
child.start()
for _ in range(100):
    if child.pid:
        break
    time.sleep(0.05)
with open(f"/proc/{child.pid}/autogroup") as theirs, open("/proc/self/autogroup") as mine:
    print(json.dumps({"child": theirs.read().split(), "parent": mine.read().split(),
                      "child_nice": os.getpriority(os.PRIO_PROCESS, child.pid)}))
child.stop()
"""


def test_a_supervised_child_in_its_own_session_gets_its_parents_nice_value_for_its_group():
    done = subprocess.run([sys.executable, "-c", NICED_SUPERVISOR], capture_output=True, text=True, timeout=30,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["child_nice"] == 7
    assert said["child"][-2:] == ["nice", "7"]
    # a group of its own, its session's; a parent in the root group (a session started by init,
    # as CI's may be) reads as nothing
    assert said["child"][0].startswith("/autogroup-") and said["child"][:1] != said["parent"][:1]


def test_a_child_started_without_the_helper_keeps_a_group_nice_of_zero():
    """What the helper is for: the kernel does not carry the nice value into a new session's group."""
    child = subprocess.Popen(["sleep", "30"], start_new_session=True, preexec_fn=lambda: os.nice(7))
    try:
        with open(f"/proc/{child.pid}/autogroup") as group:
            assert group.read().split()[-2:] == ["nice", "0"]
    finally:
        child.kill()
        child.wait()
