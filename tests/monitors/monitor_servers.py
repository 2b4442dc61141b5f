"""Real servers on loopback for the monitors' tests: an HTTP receiver for webhooks, an SMTP server
with STARTTLS and auth (aiosmtpd), and the appliance's own web app (werkzeug)."""
from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from tests.servers.ports import free_port


# ---- webhook receiver -------------------------------------------------------------------------

class WebhookReceiver:
    """Collects JSON bodies POSTed to it; can be started on a port chosen (and refused) earlier."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "WebhookReceiver":
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# ---- SMTP with STARTTLS and auth --------------------------------------------------------------

def self_signed_cert(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address(host))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on loopback that insists on STARTTLS before AUTH, and on one user name and password."""

    def __init__(self, folder: Path, username: str, password: str):
        self.folder, self.username, self.password = folder, username, password
        self.cert, key = self_signed_cert(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.mailbox = Mailbox()
        self.port = free_port()

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == username \
                and auth_data.password.decode() == password
            self.mailbox.logins.append((auth_data.login.decode(), ok))
            return AuthResult(success=ok, handled=False)

        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, auth_require_tls=True, authenticator=authenticate)

    def start(self) -> "SmtpServer":
        self.controller.start()  # returns once the server answers an EHLO
        return self

    def stop(self) -> None:
        self.controller.stop()

    def serve(self, settings, from_address: str, to: list[str] | None = None):
        """Points the box's [monitors.smtp] at this server: STARTTLS trusting its certificate, its user
        name, the password in a file, and a short timeout; returns the settings."""
        password_file = self.folder / "smtp.password"
        password_file.write_text(self.password + "\n")
        smtp = settings.monitors.smtp
        smtp.host, smtp.port, smtp.starttls, smtp.ca_file = "127.0.0.1", self.port, True, str(self.cert)
        smtp.username, smtp.password_file = self.username, str(password_file)
        smtp.from_address, smtp.timeout_seconds = from_address, 5
        if to is not None:
            smtp.to = to
        return settings


# ---- the appliance's web app ------------------------------------------------------------------

class WebServer:
    """create_app(settings) served by werkzeug on a thread; `stop` takes it off the network."""

    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "WebServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
