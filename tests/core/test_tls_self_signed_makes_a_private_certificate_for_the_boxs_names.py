"""`appliance tls self-signed` writes keys/tls.crt and keys/tls.key mode 600 whatever the umask, for the given
names plus this box's and loopback, adds them to [server] once, prints the fingerprint; a second run without
--force changes nothing."""
from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from appliance import config
from cli import main

from ..conftest import make_home


def _tls(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), "tls", *args])


def test_self_signed_certificate_for_the_boxs_names(tmp_path):
    home = make_home(tmp_path / "home")
    old = os.umask(0o022)
    try:
        result = _tls(home, "self-signed", "--name", "till.shop.lan", "--name", "10.1.2.3", "--days", "30")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    crt, key = home / "keys" / "tls.crt", home / "keys" / "tls.key"
    assert oct(crt.stat().st_mode & 0o777) == "0o600" and oct(key.stat().st_mode & 0o777) == "0o600"
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"till.shop.lan", socket.gethostname().lower(), "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert {ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("127.0.0.1")} <= set(names.get_values_for_type(x509.IPAddress))
    assert 29 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 30
    printed = re.search(r"SHA-256 fingerprint: (\S+)", result.output).group(1)
    assert printed == ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    server = tomllib.loads((home / config.CONFIG_FILE).read_text())["server"]
    assert server["tls_cert_file"] == "keys/tls.crt" and server["tls_key_file"] == "keys/tls.key"
    assert config.load(home).server.tls_cert_file == "keys/tls.crt"

    again = _tls(home, "self-signed")
    assert again.exit_code != 0 and "--force" in again.output
    assert x509.load_pem_x509_certificate(crt.read_bytes()) == cert
    replaced = _tls(home, "self-signed", "--force")
    assert replaced.exit_code == 0 and (home / config.CONFIG_FILE).read_text().count("tls_cert_file") == 1
    assert "valid until" in _tls(home, "show").output


def test_a_name_that_is_neither_a_host_nor_an_address_is_one_sentence(tmp_path):
    home = make_home(tmp_path / "home")
    result = _tls(home, "self-signed", "--name", "shop lan/x")
    assert result.exit_code != 0 and "neither a host name nor an IP address" in result.output
    assert "Traceback" not in result.output and not (home / "keys" / "tls.crt").exists()
