"""deploy/install.sh takes --role single|primary|standby|witness next to --tls: --help prints the
roles (exit 0); a wrong role, a missing value, an unknown option or --tls on a witness is refused with
the usage and exit 2 before anything is installed. The [failover] section a pair box appends to
appliance.toml leaves failover off, and uncommented it is a valid section for that box.
(No real install runs here: each case stops while parsing its arguments.)"""
import os
import shutil
import subprocess
import tomllib

import pytest

from appliance import config
from tests.failover.pair import ROOT

INSTALL = ROOT / "deploy" / "install.sh"


def _run(*args: str) -> subprocess.CompletedProcess:
    """With a PATH that has `cat` alone (the usage is a here-document): were an install step reached by
    mistake, apt-get, useradd and systemctl would not be found and `set -e` would stop the script."""
    return subprocess.run([shutil.which("bash"), str(INSTALL), *args], capture_output=True, text=True,
                          timeout=30, env={"PATH": str(ONLY_CAT)})


@pytest.fixture(scope="module", autouse=True)
def only_cat(tmp_path_factory):
    global ONLY_CAT
    ONLY_CAT = tmp_path_factory.mktemp("bin")
    os.symlink(shutil.which("cat"), ONLY_CAT / "cat")


def test_help_names_every_role():
    helped = _run("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: ")
    for role in ("single", "primary", "standby", "witness"):
        assert f"--role {role}" in helped.stdout


@pytest.mark.parametrize("args", [["--role", "bogus"], ["--role"], ["--tls"], ["--colour", "red"],
                                  ["--role", "witness", "--tls", "self-signed"], ["--tls", "letsencrypt"],
                                  ["--role", "witness", "--print-failover-config"]])
def test_a_wrong_option_is_refused_with_exit_2(args):
    refused = _run(*args)
    assert refused.returncode == 2 and refused.stdout == "", refused
    assert refused.stderr.strip() and "\n" not in refused.stderr.strip().splitlines()[0]


@pytest.mark.parametrize("role,hint,name", [("primary", "primary", "box-a"), ("standby", "standby", "box-b")])
def test_the_appended_failover_section_is_off_and_valid_once_uncommented(home, role, hint, name):
    printed = _run("--role", role, "--print-failover-config")
    assert printed.returncode == 0, printed.stderr
    with open(home / config.CONFIG_FILE, "a") as f:
        f.write(printed.stdout)
    assert not config.load(home).failover.enabled  # appended as is: a single box still
    uncommented = "\n".join(line[1:] if line.startswith("#") and not line.startswith("# ") else line
                            for line in printed.stdout.splitlines())
    assert tomllib.loads(uncommented)["failover"]["enabled"] is True
    with open(home / config.CONFIG_FILE, "a") as f:
        f.write(uncommented)
    failover = config.load(home).failover
    assert failover.enabled and failover.role == hint and failover.box_name == name
    assert len(failover.etcd_endpoints) == 3
