"""TLS certificate expiry of the box's HTTPS front, from a certificate file or over the network."""
from __future__ import annotations

import ssl

from cryptography import x509

from appliance.config import Settings

from . import Check, CheckContext, Result, crit


def _configured(settings: Settings) -> bool:
    return bool(settings.monitors.tls_cert_file or settings.monitors.tls_endpoint or settings.server.tls_cert_file)


def _cert_file(settings: Settings) -> str:
    """monitors.tls_cert_file (a proxy's certificate), else the one `appliance serve` serves (server.tls_cert_file)
    unless monitors.tls_endpoint says to look over the network."""
    m = settings.monitors
    return m.tls_cert_file or ("" if m.tls_endpoint else settings.server.tls_cert_file)


def tls_expiry(ctx: CheckContext) -> Result:
    m = ctx.settings.monitors
    cert_file = _cert_file(ctx.settings)
    try:
        if cert_file:
            source, pem = cert_file, ctx.settings.path(cert_file).read_bytes()
        else:
            host, _, port = m.tls_endpoint.rpartition(":")
            source = m.tls_endpoint
            pem = ssl.get_server_certificate((host, int(port)), timeout=10).encode()
        cert = x509.load_pem_x509_certificate(pem)
    except (OSError, ValueError) as e:
        return crit(None, f"cannot read the certificate of {cert_file or m.tls_endpoint}: {e}")
    not_after = cert.not_valid_after_utc.replace(tzinfo=None)
    days = (not_after - ctx.now).total_seconds() / 86400
    if days <= 0:
        return crit(round(days, 1), f"{source}: certificate expired on {not_after:%Y-%m-%d}")
    return Result(ctx.grade(days, higher_is_worse=False), round(days, 1),
                  f"{source}: certificate valid until {not_after:%Y-%m-%d} ({days:.0f} days)")


CHECKS = [
    Check("tls_expiry", "tls", tls_expiry, "days until the HTTPS certificate expires", 3600, "tls-renew",
          warn=21, crit=7, confirm_count=1, applies=_configured),
]
