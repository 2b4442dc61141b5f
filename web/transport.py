"""HTTPS on the shop LAN: who is a trusted proxy, HSTS, the redirect from plain HTTP, /metrics access.

- The box serves TLS itself (server.tls_cert_file/tls_key_file, gunicorn) or sits behind a reverse
  proxy that does (deploy/caddy/, deploy/nginx/). X-Forwarded-For/-Proto/-Host are believed only from
  the addresses in server.trusted_proxies (werkzeug's ProxyFix, one hop); from anyone else they are
  ignored, so a client on the LAN cannot claim to have come over HTTPS or from loopback.
- A request that came over HTTPS (directly, or by a trusted proxy's word) gets HSTS, and its session
  cookie (which holds the CSRF token too) is Secure (web.pages.security).
- When HTTPS is configured (a certificate, or server.https_only behind a proxy), a plain-HTTP request
  from a non-loopback address is redirected to the same URL over HTTPS; loopback stays plain so the
  box's own probes and `curl localhost` work.
- /metrics answers only the networks in server.metrics_networks (403), and with server.metrics_token_file
  set only a request bearing that token (401); the token is read from its file, never logged.
"""
from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from flask import Flask, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

from appliance.config import ConfigError, Settings
from appliance.errors import Forbidden, Unauthorized

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)


def address_in(address: str | None, items: list[str] | tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks(tuple(items)))


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def https_configured(settings: Settings) -> bool:
    return bool(settings.server.tls_cert_file) or settings.server.https_only


class TrustedProxyFix:
    """ProxyFix for requests whose direct peer is a trusted proxy; every other request as it came."""

    def __init__(self, wsgi_app, trusted: list[str]):
        self.plain, self.trusted = wsgi_app, tuple(trusted)
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def __call__(self, environ, start_response):
        if self.trusted and address_in(environ.get("REMOTE_ADDR"), self.trusted):
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)


def install(app: Flask, settings: Settings) -> None:
    s = settings.server
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, s.trusted_proxies)
    force = https_configured(settings)

    @app.before_request
    def _to_https():
        if force and not request.is_secure and not is_loopback(request.remote_addr):
            return redirect(request.url.replace("http://", "https://", 1), code=308)
        return None

    @app.after_request
    def _hsts(response):
        if request.is_secure and s.hsts_seconds:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={s.hsts_seconds}")
        return response


# -- /metrics ---------------------------------------------------------------------------------

def check_metrics_access(settings: Settings) -> None:
    """Raises Forbidden (address outside server.metrics_networks) or Unauthorized (missing or wrong
    bearer token when server.metrics_token_file is set); returns quietly otherwise."""
    s = settings.server
    if not address_in(request.remote_addr, s.metrics_networks):
        raise Forbidden("/metrics is not open to this address: add it to server.metrics_networks.")
    if not s.metrics_token_file:
        return
    expected = metrics_token(settings)
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), expected.encode()):
        raise Unauthorized("/metrics needs the bearer token of server.metrics_token_file.")


def metrics_token(settings: Settings) -> str:
    """The token in server.metrics_token_file (read at each scrape, so it can be rotated in place)."""
    path = settings.path(settings.server.metrics_token_file)
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"Setting server.metrics_token_file: {path} cannot be read ({e.strerror or e}).") from None
    if len(token) < 16:
        raise ConfigError(f"Setting server.metrics_token_file: {path} must hold a token of at least 16 characters.")
    return token
