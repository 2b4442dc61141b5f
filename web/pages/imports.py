"""Import: upload a CSV/XLSX file, see every row's validation result, then confirm.

The checking and writing live in appliance.import_export (`validate(kind, data, filename, ...)` and
`apply(kind, data, filename, actor, ...)`, each returning a report). Between the two steps the
upload waits in `<home>/tmp/imports/` under a random name, so confirming applies exactly the file
that was checked; it is deleted once applied (or after a day).
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import import_export
from appliance.errors import AppError

from . import settings
from .forms import FORM
from .security import requires

blueprint = Blueprint("imports", __name__)
log = logging.getLogger(__name__)

UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{20,64}\.(csv|xlsx)$")
KEEP_UPLOADS_SECONDS = 24 * 3600


@blueprint.get("/import")
@requires("manager")
def import_page():
    return _page({}, {})


@blueprint.post("/import")
@requires("manager")
def check_upload():
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    errors = {}
    if kind not in import_export.KINDS:
        errors["kind"] = "Choose what the file contains."
    if upload is None or not upload.filename:
        errors["file"] = "Choose a .csv or .xlsx file."
    if errors:
        return _page(request.form, errors, status=422)
    data = upload.read()
    filename = Path(upload.filename).name
    try:
        report = import_export.validate(kind, data, filename, settings=settings())
    except AppError as e:
        return _page(request.form, {"file": e.message, **_row_errors(e)}, status=422)
    stored = _keep_upload(data, filename) if report.ok else None
    return _page(request.form, {}, report=report, stored=stored, filename=filename, kind=kind,
                 digest=hashlib.sha256(data).hexdigest())


@blueprint.post("/import/confirm")
@requires("manager")
def confirm_upload():
    kind, stored, filename = request.form.get("kind", ""), request.form.get("stored", ""), request.form.get("filename", "")
    path = _upload_dir() / stored
    if kind not in import_export.KINDS or not UPLOAD_NAME.match(stored) or not path.exists():
        return _page({}, {FORM: "That upload is gone (applied already, or too old); upload the file again."},
                     status=409)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != request.form.get("digest", ""):
        return _page({}, {FORM: "The checked file changed; upload it again."}, status=409)
    try:
        report = import_export.apply(kind, data, filename, actor=g.user.username, settings=settings())
    except AppError as e:
        return _page({"kind": kind}, {FORM: e.message, **_row_errors(e)}, status=e.status)
    path.unlink(missing_ok=True)
    flash(report.summary(), "success" if report.ok else "error")
    return redirect(url_for(".import_page"))


def _row_errors(e: AppError) -> dict:
    return {"rows": [d for d in e.details if isinstance(d, dict)]}


def _page(form, errors, status: int = 200, **shown):
    return render_template("import.html", kinds=tuple(import_export.KINDS), form=form, errors=errors,
                           report=shown.pop("report", None), **shown), status


def _upload_dir() -> Path:
    return settings().path("tmp/imports")


def _keep_upload(data: bytes, filename: str) -> str:
    folder = _upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_UPLOADS_SECONDS
    for old in folder.iterdir():  # uploads checked but never confirmed
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    suffix = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    name = f"{secrets.token_urlsafe(24)}.{suffix}"
    (folder / name).write_bytes(data)
    return name
