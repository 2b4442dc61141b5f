"""The TLS check reads the HTTPS certificate, from its file or from the running endpoint, and
warns weeks before it expires."""
from __future__ import annotations

import datetime as dt
import ssl
import threading
from http.server import HTTPServer, SimpleHTTPRequestHandler

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitors import engine
from monitors.checks import enabled_checks

from .monitor_helpers import override


def _cert(folder, days_left: float):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=60))
            .not_valid_after(now + dt.timedelta(days=days_left)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "https.crt", folder / "https.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_check_only_runs_when_https_is_configured(db, settings, tmp_path):
    assert "tls_expiry" not in {c.name for c, _ in enabled_checks(settings)}
    settings.monitors.tls_cert_file = str(_cert(tmp_path, 100)[0])
    assert "tls_expiry" in {c.name for c, _ in enabled_checks(settings)}


def test_certificate_file_expiring_in_five_days_is_crit(db, settings, tmp_path):
    settings.monitors.tls_cert_file = str(_cert(tmp_path, 5)[0])
    state = engine.run_check("tls_expiry", settings)
    assert state.state == "crit" and "valid until" in state.reason


def test_certificate_served_over_https_expiring_in_two_weeks_is_a_warning(db, settings, tmp_path):
    cert, key = _cert(tmp_path, 14)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        settings.monitors.tls_endpoint = f"127.0.0.1:{server.server_address[1]}"
        override(settings, "tls_expiry", confirm_count=1)
        state = engine.run_check("tls_expiry", settings)
    finally:
        server.shutdown()
        server.server_close()
    assert state.state == "warn"
    assert float(state.value) < 14.1
