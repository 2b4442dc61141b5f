"""Timings that could let the lease expire before the box has fenced itself are refused at start-up
with one sentence naming the rule: renew_interval x (retries + 1) + fence_margin < lease TTL."""
import os
import subprocess
import sys

import pytest

from appliance import config
from tests.failover.pair import ROOT, failover_toml


def _write(home, **timings):
    with open(home / config.CONFIG_FILE, "a") as f:
        f.write(failover_toml("box-a", ["http://127.0.0.1:2379"], "primary", "/t/", **timings))


@pytest.mark.parametrize("timings", [
    {"lease_ttl_seconds": 3, "renew_interval_seconds": 1.0, "retries": 2, "fence_margin_seconds": 0.5},  # 3.5 >= 3
    {"lease_ttl_seconds": 6, "renew_interval_seconds": 2.0, "retries": 1, "fence_margin_seconds": 2.0},  # 6 >= 6
])
def test_a_config_whose_timings_break_the_rule_is_refused_in_one_sentence(home, timings):
    _write(home, **timings)
    with pytest.raises(config.ConfigError) as refused:
        config.load(home)
    message = str(refused.value)
    assert message.startswith("Setting failover: ") and "lease timings are unsafe" in message
    assert f"must stay below lease_ttl_seconds ({timings['lease_ttl_seconds']} s)" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_safe_timings_load(home):
    _write(home, lease_ttl_seconds=6, renew_interval_seconds=1.0, retries=2, fence_margin_seconds=2.0)  # 5 < 6
    settings = config.load(home)
    assert settings.failover.enabled and settings.failover.fence_after_seconds == 4


def test_the_lease_holder_refuses_to_start_with_them_without_a_traceback(home):
    _write(home, lease_ttl_seconds=2, renew_interval_seconds=1.0, retries=1, fence_margin_seconds=0.5)
    done = subprocess.run([sys.executable, "-m", "cli", "failover", "run"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "APPLIANCE_HOME": str(home)})
    assert done.returncode != 0
    assert "lease timings are unsafe" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (home / "fence" / "permit.json").exists()
