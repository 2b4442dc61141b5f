"""`appliance serve --port X` may serve elsewhere than the config's server.port (issue 17): serve
records the address it actually listens on (run/serve.json, with its pid and start time) and the
readyz check probes that one while that process runs, else the config's."""
from __future__ import annotations

import json

from appliance import config
from monitors.checks import CheckContext, catalog, config_for, service
from tests.durability.served import ServedAppliance


def _readyz(settings):
    check = catalog()["readyz"]
    return service.readyz(CheckContext(settings, config_for(check, settings)))


def test_readyz_is_ok_on_a_box_served_on_another_port_than_the_configs(tmp_path):
    box = ServedAppliance(tmp_path / "home").init()
    try:
        box.start(workers=1)
        settings = config.load(box.home, environ={})
        assert box.port != settings.server.port

        result = _readyz(settings)
        record = json.loads((box.home / "run" / "serve.json").read_text())
    finally:
        box.stop()

    assert result.state == "ok", result.reason
    assert service.readyz_url(settings) != f"http://127.0.0.1:{box.port}/readyz"  # stopped: the config's again
    assert (record["host"], record["port"], record["pid"]) == ("127.0.0.1", box.port, box.pid)
    assert not (box.home / "run" / "serve.json").exists()  # a clean stop removes it


def test_a_record_left_by_a_killed_server_is_not_followed(settings):
    (settings.home / "run").mkdir(exist_ok=True)
    (settings.home / "run" / "serve.json").write_text(
        json.dumps({"host": "127.0.0.1", "port": 1, "pid": 999_999_999, "started": 0.0}))
    assert service.readyz_url(settings) == f"http://127.0.0.1:{settings.server.port}/readyz"


def test_an_explicit_readyz_url_wins(settings):
    settings.monitors.readyz_url = "https://shop.example/readyz"
    assert service.readyz_url(settings) == "https://shop.example/readyz"
