"""`appliance tls self-signed`: a certificate for this box's names and addresses, for HTTPS on the shop LAN.

The key and certificate go to keys/tls.key and keys/tls.crt (mode 600), appliance.toml's [server] gets
tls_cert_file/tls_key_file when it has none, and the certificate's SHA-256 fingerprint is printed so a
tablet or the central Prometheus can pin it (docs/security.md). `appliance tls show` prints the facts of
the certificate being served.
"""
from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from datetime import timedelta
from pathlib import Path

import click

from appliance import clock, config
from appliance.commandline import CliContext, pass_app

CERT_FILE = "keys/tls.crt"
KEY_FILE = "keys/tls.key"


@click.group("tls")
def command() -> None:
    """HTTPS for the shop LAN: a self-signed certificate, or the facts of the served one."""


@command.command("self-signed")
@click.option("--name", "names", multiple=True,
              help="A host name or IP address the tablets use for this box (repeatable; this box's host "
                   "name, its addresses and localhost are always in).")
@click.option("--days", type=click.IntRange(1, 3650), default=825, show_default=True, help="Validity.")
@click.option("--force", is_flag=True, help="Replace an existing keys/tls.crt and keys/tls.key.")
@pass_app
def self_signed(app: CliContext, names: tuple[str, ...], days: int, force: bool) -> None:
    """Make a self-signed certificate for this box and serve HTTPS with it."""
    settings = config.load(app.home)
    cert_path, key_path = settings.path(CERT_FILE), settings.path(KEY_FILE)
    if not force and (cert_path.exists() or key_path.exists()):
        raise click.ClickException(f"{cert_path} or {key_path} already exists: use --force to replace them.")
    dns, ips = subject_names(list(names))
    cert_pem, key_pem = make_self_signed(dns, ips, days)
    cert_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert_pem)
    configured = _configure(settings.home / config.CONFIG_FILE)
    click.echo(f"certificate: {cert_path} (valid {days} days) for {', '.join(dns + [str(ip) for ip in ips])}")
    click.echo(f"key: {key_path}")
    click.echo(f"SHA-256 fingerprint: {fingerprint(cert_pem)}")
    if configured:
        click.echo("appliance.toml [server]: tls_cert_file and tls_key_file set; restart `appliance serve`.")
    else:
        click.echo(f'appliance.toml already names a certificate: set [server] tls_cert_file = "{CERT_FILE}" and '
                   f'tls_key_file = "{KEY_FILE}" to serve this one.')
    click.echo("Tablets: open https://<this box>:<port>/ and check that the browser shows this fingerprint "
               "before trusting the certificate.")


@command.command("show")
@pass_app
def show(app: CliContext) -> None:
    """The served certificate's names, expiry and SHA-256 fingerprint."""
    from cryptography import x509
    settings = config.load(app.home)
    if not settings.server.tls_cert_file:
        raise click.ClickException("server.tls_cert_file is empty: this box serves plain HTTP "
                                   "(behind a TLS proxy, or `appliance tls self-signed`).")
    path = settings.path(settings.server.tls_cert_file)
    try:
        pem = path.read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
    except (OSError, ValueError) as e:
        raise click.ClickException(f"{path} is not a readable PEM certificate ({e}).") from None
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in alt]
    except x509.ExtensionNotFound:
        names = []
    click.echo(f"certificate: {path}")
    click.echo(f"names: {', '.join(names) or '-'}")
    click.echo(f"valid until: {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    click.echo(f"SHA-256 fingerprint: {fingerprint(pem)}")


def subject_names(extra: list[str]) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """DNS names and IP addresses for the certificate: the given ones, this box's, localhost."""
    dns: list[str] = []
    ips: list = []

    def add(value: str) -> None:
        value = value.strip()
        if not value:
            return
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?", value):
                raise click.BadParameter(f"{value!r} is neither a host name nor an IP address.", param_hint="--name")
            if value.lower() not in dns:
                dns.append(value.lower())
            return
        if ip not in ips:
            ips.append(ip)

    for value in extra:
        add(value)
    hostname = socket.gethostname()
    for value in (hostname, socket.getfqdn(), "localhost"):
        add(value)
    try:
        for info in socket.getaddrinfo(hostname, None, type=socket.SOCK_STREAM):
            add(info[4][0].split("%")[0])
    except OSError:
        pass
    add(_primary_address() or "")
    for value in ("127.0.0.1", "::1"):
        add(value)
    return dns, ips


def _primary_address() -> str | None:
    """The address this box reaches the LAN from (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only routes the socket
            return probe.getsockname()[0]
        except OSError:
            return None


def make_self_signed(dns: list[str], ips: list, days: int) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM): ECDSA P-256, SHA-256, server authentication only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns or ["store-appliance"])[0][:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Store Appliance")])
    now = clock.now()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns] +
                                                       [x509.IPAddress(ip) for ip in ips]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate (DER), as browsers show it: AB:CD:..."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _configure(toml_path: Path) -> bool:
    """Adds tls_cert_file/tls_key_file under [server] unless a certificate is already named."""
    try:
        text = toml_path.read_text()
    except FileNotFoundError:
        raise click.ClickException(f"{toml_path} does not exist: run `appliance init` first.") from None
    server = tomllib.loads(text).get("server", {})
    if server.get("tls_cert_file") or server.get("tls_key_file"):
        return server.get("tls_cert_file") == CERT_FILE and server.get("tls_key_file") == KEY_FILE
    lines = f'tls_cert_file = "{CERT_FILE}"\ntls_key_file = "{KEY_FILE}"\n'
    if re.search(r"(?m)^\[server\]\s*$", text):
        text = re.sub(r"(?m)^\[server\]\s*$\n?", lambda m: "[server]\n" + lines, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n[server]\n" + lines
    mode = toml_path.stat().st_mode & 0o777
    tmp = toml_path.with_name(f".{toml_path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, toml_path)
    return True
