"""Flask app factory: create_app(settings) wires the database and the blueprints of each area."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound

from appliance import config as config_module
from appliance import panels, runtime
from appliance.db import database


def create_app(settings: config_module.Settings | None = None, *, connect: bool = True) -> Flask:
    settings = settings or config_module.load()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_upload_bytes
    app.config["SECRET_KEY"] = secret_key(settings)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.jinja_loader = ChoiceLoader([app.jinja_loader, PanelTemplates()])
    if connect:
        runtime.connect(settings)

    @app.before_request
    def _open_db():
        # One connection per worker thread, kept open: SQLite pragmas are set once per connection.
        database.connect(reuse_if_open=True)

    from . import errors, health, instrumentation, transport
    from .api import blueprint as api_blueprint
    errors.register(app)
    transport.install(app, settings)  # trusted proxies, HTTPS redirect, HSTS (docs/security.md)
    app.register_blueprint(health.blueprint)
    instrumentation.install(app, settings)  # request latency for /metrics, web worker liveness
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")
    _register_pages(app)
    _version_static_urls(app)
    return app


def _version_static_urls(app: Flask) -> None:
    """Every static URL carries a hash of its file (`?v=`). The till's page and assets are kept in the
    browser's cache for a shift (web/pages/orders.py), so after an upgrade a page must name new URLs
    for changed files instead of running yesterday's script with today's page."""
    versions: dict[str, str] = {}

    @app.url_defaults
    def _with_version(endpoint: str, values: dict) -> None:
        if endpoint != "static" or "filename" not in values or "v" in values:
            return
        name = values["filename"]
        if name not in versions:
            try:
                versions[name] = hashlib.sha256((Path(app.static_folder) / name).read_bytes()).hexdigest()[:12]
            except OSError:
                return  # Flask answers 404 for it as for any missing file
        values["v"] = versions[name]


class PanelTemplates(BaseLoader):
    """The /ops panels' own templates, in the folders their packages registered (appliance/panels.py).

    Asks the registry at each lookup, so a panel registered after the app was made is found too."""

    def get_source(self, environment: Environment, template: str):
        for folder in panels.template_folders():
            try:
                return FileSystemLoader(folder).get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)


def _register_pages(app: Flask) -> None:
    """Server-rendered pages (store, reports, ops, auth) register here."""
    from . import pages
    pages.register(app)


def secret_key(settings: config_module.Settings) -> bytes:
    """The key that signs session cookies; a missing or unreadable file is one sentence saying what to do
    (`appliance serve` calls this before any worker starts)."""
    path = settings.path(settings.server.secret_key_file)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise config_module.ConfigError(
            f"Setting server.secret_key_file: {path} does not exist: run `appliance init` (safe on a "
            "restored home: it keeps the database and makes only what is missing).") from None
    except OSError as e:
        raise config_module.ConfigError(
            f"Setting server.secret_key_file: {path} cannot be read ({e.strerror or e}): give it to the "
            "user the service runs as (mode 600).") from None

