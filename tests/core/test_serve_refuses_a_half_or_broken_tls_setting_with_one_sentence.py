"""`appliance serve` with only one of server.tls_cert_file/tls_key_file, a missing file, or files that are
not a certificate and its key: one sentence naming the setting, exit 1, before gunicorn starts; the same
for a /metrics token file that cannot be used."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.durability.served import ServedAppliance

from .test_serve_start_up_failures_are_one_sentence_without_a_traceback import assert_one_sentence, serve


@pytest.fixture(scope="module")
def box(tmp_path_factory) -> ServedAppliance:
    return ServedAppliance(tmp_path_factory.mktemp("tls") / "home").init()


def _with(box: ServedAppliance, **settings: str) -> ServedAppliance:
    box.env = {k: v for k, v in box.env.items() if not k.startswith("APPLIANCE_SERVER_")}
    box.env.update({f"APPLIANCE_SERVER_{name.upper()}": value for name, value in settings.items()})
    return box


def test_a_certificate_without_its_key(box):
    result, seconds = serve(_with(box, tls_cert_file="keys/tls.crt"))
    assert_one_sentence(result, seconds, "server.tls_key_file", "is empty", "appliance tls self-signed")


def test_a_missing_certificate_file(box):
    result, seconds = serve(_with(box, tls_cert_file="keys/none.crt", tls_key_file="keys/none.key"))
    assert_one_sentence(result, seconds, "server.tls_cert_file", str(Path(box.home) / "keys" / "none.crt"),
                        "does not exist")


def test_files_that_are_not_a_certificate_and_its_key(box):
    (box.home / "keys" / "junk.crt").write_text("not a certificate\n")
    (box.home / "keys" / "junk.key").write_text("not a key\n")
    result, seconds = serve(_with(box, tls_cert_file="keys/junk.crt", tls_key_file="keys/junk.key"))
    assert_one_sentence(result, seconds, "server.tls_cert_file", "are not a PEM certificate and its private key")


def test_a_metrics_token_file_that_is_missing(box):
    result, seconds = serve(_with(box, metrics_token_file="keys/metrics.token"))
    assert_one_sentence(result, seconds, "server.metrics_token_file", "cannot be read")
