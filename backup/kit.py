"""The recovery kit: one printable sheet with everything a new box needs to get the shop back.

`appliance backup kit` writes it (HTML and text) and prints the text. It carries the backup key, the
one secret on it, how to reach each target, which other secrets exist and where on the box they live
(by path and purpose, never their content), and the three commands to type on a fresh Debian box:
install, `appliance restore --from <target> …` (which puts back the config, the keys and the database
the backups carry, backup/rebuild.py), start.

Each export is recorded (`KeyValue` `backup.recovery_kit`: when, for which key fingerprint and which
target facts), so the monitors check `recovery_kit` and the /ops backups panel can say whether the
kit the shop holds is the one for the current key and targets; a new key or a changed target makes
the kit stale again.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from appliance import __version__
from appliance.config import Settings
from appliance.models import KeyValue, utcnow

from . import keys
from .errors import KeyProblem

RECORD_KEY = "backup.recovery_kit"
HTML_NAME = "recovery-kit.html"
TEXT_NAME = "recovery-kit.txt"
INSTALLED_HOME = "/var/lib/appliance"
INSTALLED_APPLIANCE = "/opt/appliance/venv/bin/appliance"

# What the sheet shows of each target, in this order (secrets are files, shown by path only).
_TARGET_FIELDS = ("kind", "host", "port", "user", "path", "host_key", "endpoint", "bucket", "region",
                  "prefix", "access_key_id", "key_file", "secret_access_key_file", "object_lock_days",
                  "medium", "offsite")


@dataclass(frozen=True)
class Secret:
    what: str      # its purpose
    where: str     # the path (or setting) on the box
    note: str      # what a new box does about it
    copy: bool = True  # whether the shop must keep a copy of it (elsewhere than this sheet)


@dataclass(frozen=True)
class Kit:
    made_at: datetime
    key_fingerprint: str
    key_text: str                     # `backup key export` text: the key line with its checksum
    targets: list[dict]               # each target's facts (settings values, no secret content)
    secrets: list[Secret]
    commands: list[tuple[str, str]]   # (command, what it does)
    toml: str                         # the [backup] block for the new box's appliance.toml
    fingerprint: str                  # of the key and the target facts: what the record names
    box: str = ""                     # "box ID, lineage L" (backup/identity.py): whose backups to restore

    def text(self) -> str:
        return render_text(self)

    def html(self) -> str:
        return render_html(self)


def _target_facts(target) -> dict:
    data = target.model_dump(mode="json")
    facts = {"name": data["name"]}
    for field in _TARGET_FIELDS:
        value = data.get(field)
        if value is not None and value != "":
            facts[field] = value
    return facts


def current_fingerprint(settings: Settings, key: keys.BackupKey | None = None) -> str:
    """A fingerprint of the backup key (its public fingerprint) and every target's facts."""
    key = key or keys.load(settings.path(settings.backup.key_file))
    facts = [_target_facts(t) for t in settings.backup.targets]
    canonical = json.dumps({"key": key.fingerprint, "targets": facts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _secrets(settings: Settings) -> list[Secret]:
    found = [Secret("backup key (encrypts every backup)", settings.backup.key_file,
                    "ON THIS SHEET: save the key line as this file")]
    for t in settings.backup.targets:
        if t.kind == "sftp":
            found.append(Secret(f"SSH private key of {t.user}@{t.host} (target {t.name})", t.key_file,
                                "copy it back from where the shop keeps it"))
        elif t.kind == "s3":
            found.append(Secret(f"S3 secret access key for access key id {t.access_key_id} (target {t.name})",
                                t.secret_access_key_file, "copy it back from where the shop keeps it"))
    monitors = getattr(settings, "monitors", None)
    smtp = getattr(monitors, "smtp", None)
    if smtp is not None and getattr(smtp, "password_file", ""):
        found.append(Secret(f"SMTP password for alert e-mails ({smtp.username or 'no user'}@{smtp.host or 'no relay'})",
                            smtp.password_file, "copy it back, or alerts go by webhook only"))
    url = urlsplit(settings.database.url)
    if url.password:
        found.append(Secret(f"PostgreSQL password of {url.username}@{url.hostname}",
                            "database.url in appliance.toml (or APPLIANCE_DATABASE_URL)",
                            "the shop's database server keeps it"))
    found.append(Secret("web sign-in signing key", settings.server.secret_key_file,
                        "none needed: it comes back with the backups (restore --from)", copy=False))
    return found


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def _backup_toml(settings: Settings) -> str:
    lines = ["[backup]", f"key_file = {_toml_value(settings.backup.key_file)}"]
    for t in settings.backup.targets:
        lines += ["", "[[backup.targets]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in _target_facts(t).items()]
    return "\n".join(lines) + "\n"


def _restore_target(settings: Settings):
    """The target the restore command names: a remote one first (a local folder may have died with the box)."""
    remote = [t for t in settings.backup.targets if t.kind != "local"]
    chosen = (remote or list(settings.backup.targets) or [None])[0]
    return chosen, [t for t in settings.backup.targets if t is not chosen]


KIT_KEY = f"{INSTALLED_HOME}/kit-backup.key"


def reach_args(target, settings: Settings | None = None) -> tuple[str, str]:
    """(`--from …` flags, what to save first) that reach `target` from a box with no config."""
    if target.kind == "sftp":
        secret = f"{INSTALLED_HOME}/kit-{target.name}.key"
        return (f"--from sftp://{target.user}@{target.host}:{target.port}{target.path} "
                f"--host-key '{target.host_key}' --ssh-key {secret}",
                f"the shop's copy of the SSH private key of {target.user}@{target.host} as {secret}")
    if target.kind == "s3":
        secret = f"{INSTALLED_HOME}/kit-{target.name}.secret"
        endpoint = f"--endpoint {target.endpoint} " if target.endpoint else ""
        return (f"--from s3://{target.bucket}/{target.prefix} {endpoint}--region {target.region} "
                f"--access-key-id {target.access_key_id} --secret-key-file {secret}",
                f"the shop's copy of the S3 secret access key as {secret}")
    folder = settings.path(target.path) if settings is not None else target.path
    return f"--from {folder}", f"mount the disk that holds {folder} there (it must have outlived the box)"


def _commands(settings: Settings) -> list[tuple[str, str]]:
    target, others = _restore_target(settings)
    restore = f"sudo -u appliance env APPLIANCE_HOME={INSTALLED_HOME} {INSTALLED_APPLIANCE} restore"
    if target is None:
        second = (f"{restore} --target NAME --force", "no target is configured: there is nothing to restore from")
    else:
        flags, secret = reach_args(target, settings)
        save = (f"save the key line above as {KIT_KEY}" + (f" and {secret}" if target.kind != "local" else "")
                + " (owner appliance, mode 0600)" + (f"; {secret}" if target.kind == "local" else ""))
        alternatives = "; from another target: " + "; ".join(f"`{reach_args(t, settings)[0]}`" for t in others) if others else ""
        second = (f"{restore} {flags} --key-file {KIT_KEY} --force",
                  f"first {save}. It reads target {target.name} and puts back the "
                  "box's config (appliance.toml), its keys and the newest backup's database, all carried sealed "
                  f"in the backups{alternatives}. Then delete the kit files. (A backup made before backups carried "
                  f"the config: put the [backup] block below in {INSTALLED_HOME}/appliance.toml and restore with "
                  f"--target {target.name} --force.)")
    return [
        ("sudo ./deploy/install.sh",
         f"from a checkout of Store Appliance {__version__}: installs it in /opt/appliance with its home "
         f"in {INSTALLED_HOME} (a new, empty box, replaced by the next command)"),
        second,
        ("sudo systemctl start appliance", "the shop serves again; the restore printed the next steps "
                                           "(sign in with the old passwords, rotate tokens, first backup)"),
    ]


def build(settings: Settings) -> Kit:
    key = keys.load(settings.path(settings.backup.key_file))
    return Kit(made_at=utcnow(), key_fingerprint=key.fingerprint, key_text=keys.export_text(key),
               targets=[_target_facts(t) for t in settings.backup.targets], secrets=_secrets(settings),
               commands=_commands(settings), toml=_backup_toml(settings),
               fingerprint=current_fingerprint(settings, key), box=_box(settings))


def _box(settings: Settings) -> str:
    from . import identity
    box = identity.ensure(settings)
    return f"box {box.box_id}, lineage {box.lineage}"


def _key_line(kit: Kit) -> str:
    return [ln for ln in kit.key_text.splitlines() if ln and not ln.startswith("#")][0]


def _checksum(kit: Kit) -> str:
    return kit.key_text.split("checksum ", 1)[1].split()[0]


WARNING = ("THIS SHEET HOLDS THE BACKUP KEY: anyone with it and access to a target can read every backup. "
           "Keep it offline (printed, in the safe), never in e-mail or on the box's own disk.")


def _shown(value) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def render_text(kit: Kit) -> str:
    out = [f"STORE APPLIANCE RECOVERY KIT  made {kit.made_at:%Y-%m-%d %H:%M} UTC, key fingerprint {kit.key_fingerprint}",
           f"This shop's backups: {kit.box} (`backup list --from …` marks each backup's box and lineage)",
           "", f"** {WARNING} **", "",
           f"Backup key (save this line as keys/backup.key; checksum {_checksum(kit)}):", f"    {_key_line(kit)}", "",
           "Targets:"]
    for t in kit.targets:
        out.append(f"  {t['name']}:")
        out += [f"    {k:<23} {_shown(v)}" for k, v in t.items() if k != "name"]
    if not kit.targets:
        out.append("  none configured: the backups are nowhere but this box")
    out += ["", "Other secrets (not on this sheet; where the box keeps them, and where the shop keeps its copy):"]
    for s in kit.secrets[1:]:
        kept = "; shop's copy kept at: ____________" if s.copy else ""
        out.append(f"  - {s.what}: {s.where} ({s.note}){kept}")
    out += ["", "On a fresh Debian box, as root, from a checkout of the appliance:"]
    for n, (command, what) in enumerate(kit.commands, 1):
        out += [f"  {n}. {command}", f"     {what}"]
    out += ["", "[backup] block for appliance.toml:", ""] + [f"    {ln}" if ln else "" for ln in kit.toml.splitlines()]
    return "\n".join(out) + "\n"


_CSS = """body{font-family:sans-serif;font-size:10pt;margin:1.2cm;max-width:19cm}
h1{font-size:14pt;margin:0 0 .3em}h2{font-size:11pt;margin:.9em 0 .3em}
.warn{border:2px solid #000;padding:.4em;font-weight:bold}
code,pre,.key{font-family:monospace}.key{font-size:12pt;word-break:break-all;border:1px solid #000;padding:.3em}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:1px 4px;vertical-align:top;text-align:left}
td.v{font-family:monospace;word-break:break-all}pre{font-size:8.5pt;border:1px solid #999;padding:.3em;margin:0}
@media print{body{margin:0}}"""


def render_html(kit: Kit) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>Store Appliance recovery kit {e(kit.key_fingerprint)}</title>",
             f"<style>{_CSS}</style>", "</head>", "<body>",
             "<h1>Store Appliance recovery kit</h1>",
             f"<p>Made {kit.made_at:%Y-%m-%d %H:%M} UTC for the backup key with fingerprint "
             f"<code>{e(kit.key_fingerprint)}</code>; this shop's backups: <code>{e(kit.box)}</code>.</p>",
             f'<p class="warn"><strong>{e(WARNING)}</strong></p>',
             f"<h2>Backup key</h2><p>Save this line as <code>keys/backup.key</code> (checksum "
             f"<code>{e(_checksum(kit))}</code>):</p>",
             f'<p class="key" id="backup-key">{e(_key_line(kit))}</p>',
             "<h2>Targets</h2>"]
    if kit.targets:
        for t in kit.targets:
            parts.append(f'<table class="target"><tr><th colspan="2">{e(t["name"])}</th></tr>')
            parts += [f'<tr><td>{e(k)}</td><td class="v">{e(_shown(v))}</td></tr>' for k, v in t.items() if k != "name"]
            parts.append("</table>")
    else:
        parts.append("<p>None configured: the backups are nowhere but this box.</p>")
    parts.append("<h2>Other secrets</h2><p>Not on this sheet. Where the box keeps them, and where the shop "
                 "keeps its copy:</p><table><tr><th>what</th><th>path on the box</th><th>on a new box</th>"
                 "<th>shop's copy kept at</th></tr>")
    parts += [f'<tr><td>{e(s.what)}</td><td class="v">{e(s.where)}</td><td>{e(s.note)}</td><td>{"" if s.copy else "not needed"}</td></tr>'
              for s in kit.secrets[1:]]
    parts += ["</table>", "<h2>On a fresh Debian box, as root, from a checkout of the appliance</h2>", "<ol>"]
    parts += [f"<li><code>{e(command)}</code><br>{e(what)}</li>" for command, what in kit.commands]
    parts += ["</ol>", "<h2>[backup] block for appliance.toml</h2>", f"<pre>{e(kit.toml)}</pre>",
              "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, 0o600)
        f.write(text)


def default_folder(settings: Settings) -> Path:
    """The keys folder (mode 0700): the sheet holds nothing that folder does not hold already."""
    return settings.path(settings.backup.key_file).parent


def export(settings: Settings, folder: Path | None = None) -> tuple[Kit, list[Path]]:
    """Builds the kit, writes its HTML and text (mode 0600) and records the export."""
    kit = build(settings)
    folder = Path(folder) if folder is not None else default_folder(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for name, text in ((HTML_NAME, kit.html()), (TEXT_NAME, kit.text())):
        _write_private(folder / name, text)
        written.append(folder / name)
    KeyValue.put(RECORD_KEY, json.dumps({
        "fingerprint": kit.fingerprint, "key_fingerprint": kit.key_fingerprint,
        "targets": [t["name"] for t in kit.targets], "exported_at": kit.made_at.isoformat(timespec="seconds")}))
    return kit, written


@dataclass(frozen=True)
class KitStatus:
    current: bool
    exported_at: datetime | None    # of the recorded export (which may be for another key or targets)
    reason: str


def status(settings: Settings) -> KitStatus:
    """Whether the kit for the current backup key and targets has been exported."""
    try:
        now = current_fingerprint(settings)
    except KeyProblem as e:
        return KitStatus(False, None, f"the backup key cannot be read: {e}")
    row = KeyValue.get_or_none(KeyValue.key == RECORD_KEY)
    if row is None:
        return KitStatus(False, None, "the recovery kit was never exported: run `appliance backup kit` and print it")
    record = json.loads(row.value)
    at = datetime.fromisoformat(record["exported_at"])
    if record.get("fingerprint") != now:
        changed = "backup key" if record.get("key_fingerprint") != keys.load(
            settings.path(settings.backup.key_file)).fingerprint else "backup targets"
        return KitStatus(False, at, f"the {changed} changed since the recovery kit was exported "
                                    f"({at:%Y-%m-%d %H:%M} UTC): run `appliance backup kit` and print it again")
    return KitStatus(True, at, f"recovery kit exported {at:%Y-%m-%d %H:%M} UTC for the current key and targets")
