"""Runbooks readable when the box is dead: each runbook as one self-contained HTML page (and as
Markdown), filled with this box's facts — its targets, hosts, paths, where the backup key must come
from, the commands to type on a fresh Debian box — and never a secret: no key, password, access key
or secret file's content, only where such things live.

`appliance runbook export --output DIR` writes them; after every successful backup the pages are
also put on every target beside the backups (`runbooks/<id>.html`, plain, unencrypted), so the
runbook for a lost box can be read from the NAS or the bucket.
"""
from __future__ import annotations

import hashlib
import html
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from appliance import clock
from appliance.config import Settings
from backup.targets import open_targets
from monitors.engine import OFFLINE_RUNBOOK_FOLDER

from . import loader
from .loader import load_library
from .model import Runbook, Step

FOLDER = OFFLINE_RUNBOOK_FOLDER  # on each target, beside the backup folders (alerts point there)

STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:1.5rem auto;padding:0 1rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:1.6rem}code,pre{background:#f1f3f5;border-radius:3px;padding:0 .2rem}
pre{padding:.5rem;white-space:pre-wrap}ol.steps>li{margin:.7rem 0}.kind{font-size:.8rem;color:#5b6775}
table{border-collapse:collapse}td,th{border:1px solid #d5dae0;padding:.2rem .5rem;text-align:left;vertical-align:top}
.note{background:#fff6d6;padding:.5rem .8rem;border-radius:4px}"""


@dataclass(frozen=True)
class BoxFacts:
    """What a stranger restoring this shop needs to know about it, without a secret."""
    home: str
    database: str
    targets: list[dict]
    key_file: str
    exported_at: datetime
    drills: dict[str, str]


def box_facts(settings: Settings, drills: dict[str, str] | None = None) -> BoxFacts:
    return BoxFacts(home=str(settings.home), database=_database(settings.database.url),
                    targets=[_target(t) for t in settings.backup.targets], key_file=settings.backup.key_file,
                    exported_at=clock.utcnow().replace(microsecond=0), drills=drills or {})


def _database(url: str) -> str:
    """The engine and where; a PostgreSQL URL loses its password."""
    if url.startswith("postgres"):
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.split('@', 1)[-1]}" if "@" in rest else url
    return url


def _target(target) -> dict:
    facts = {"name": target.name, "kind": target.kind, "medium": target.medium, "offsite": target.offsite}
    if target.kind == "local":
        facts["where"] = target.path
    elif target.kind == "sftp":
        facts["where"] = f"{target.user}@{target.host}:{target.port} {target.path}"
        facts["needs"] = f"the SSH key {target.key_file} and the server's host key {target.host_key.split()[0]} …"
    else:
        facts["where"] = f"{target.endpoint or 'AWS'} bucket {target.bucket}, prefix {target.prefix}, region {target.region}"
        facts["needs"] = f"the access key id and the secret in {target.secret_access_key_file}"
    return facts


def render_html(runbook: Runbook, facts: BoxFacts) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{e(runbook.title)}</title><style>{STYLE}</style>",
             f"<h1>{e(runbook.title)}</h1>",
             f"<p><code>{e(runbook.id)}</code> · RTO budget {runbook.rto_budget_seconds // 60} min · "
             f"run by {e(', '.join(runbook.roles))} · exported {facts.exported_at:%Y-%m-%d %H:%M} UTC</p>",
             f"<p class=note>Last drill: {e(facts.drills.get(runbook.id, 'never drilled'))}</p>",
             "<h2>When</h2><ul>" + "".join(f"<li>{e(s)}</li>" for s in runbook.when.symptoms) + "</ul>"]
    if runbook.when.alerts:
        parts.append(f"<p>Alerts that lead here: {e(', '.join(runbook.when.alerts))}</p>")
    if runbook.params:
        parts.append("<h2>Parameters</h2><ul>" + "".join(
            f"<li><code>--param {e(p.name)}=…</code> {e(p.help)}{' (required)' if p.required else ''}</li>"
            for p in runbook.params) + "</ul>")
    parts.append("<h2>Steps</h2><ol class=steps>")
    for step in runbook.steps:
        parts.append(f"<li id='{e(step.id)}'><strong>{e(step.title)}</strong> <span class=kind>[{e(step.phase)} · "
                     f"{e(step.kind)} · about {step.expected_seconds:g} s, at most {step.timeout_seconds:g} s]</span>"
                     f"<br>{e(_what(step))}</li>")
    parts.append("</ol>")
    parts.append(_facts_html(facts))
    return "\n".join(parts) + "\n</html>\n"


def render_markdown(runbook: Runbook, facts: BoxFacts) -> str:
    lines = [f"# {runbook.title}", "",
             f"`{runbook.id}` · RTO budget {runbook.rto_budget_seconds // 60} min · run by {', '.join(runbook.roles)} · "
             f"exported {facts.exported_at:%Y-%m-%d %H:%M} UTC", "",
             f"Last drill: {facts.drills.get(runbook.id, 'never drilled')}", "", "## When", ""]
    lines += [f"- {s}" for s in runbook.when.symptoms]
    lines += ["", "## Steps", ""]
    for n, step in enumerate(runbook.steps, 1):
        lines.append(f"{n}. **{step.title}** [{step.phase} · {step.kind} · about {step.expected_seconds:g} s]  ")
        lines.append(f"   {_what(step)}")
    lines += ["", "## This box", ""] + [f"- {line}" for line in _facts_lines(facts)]
    return "\n".join(lines) + "\n"


def _what(step: Step) -> str:
    if step.kind in ("check", "verify"):
        params = " ".join(f"{k}={v}" for k, v in step.params.items())
        expect = ", ".join(f"{k}={v}" for k, v in step.expect.items())
        return f"appliance operations run {step.operation} {params}".rstrip() + f"  → expect {expect}"
    if step.kind == "action":
        params = " ".join(f"{k}={v}" for k, v in step.params.items())
        return f"appliance operations run {step.operation} {params}".rstrip()
    if step.kind == "shell":
        where = f" (on {step.ssh.user}@{step.ssh.host})" if step.ssh else ""
        return f"$ {step.command}{where}"
    who = f" — needs a {step.role}" if step.role else ""
    return (step.instruction or "") + who


def _facts_lines(facts: BoxFacts) -> list[str]:
    lines = [f"Home: {facts.home} (appliance.toml, the database, keys/)", f"Database: {facts.database}",
             f"Backup key: {facts.key_file} on the box; on a new box, put back the offline copy "
             f"(made with `appliance backup key export`) at the same place before restoring"]
    for t in facts.targets:
        lines.append(f"Target {t['name']} ({t['kind']}, {t['medium']}{', offsite' if t['offsite'] else ''}): {t['where']}"
                     + (f"; needs {t['needs']}" if t.get("needs") else ""))
    lines += ["On a fresh Debian box: get the Store Appliance source, run `deploy/install.sh` as root, put back "
              "appliance.toml and keys/ in /var/lib/appliance, then `appliance restore --target NAME --force` "
              "and `systemctl start appliance`"]
    return lines


def _facts_html(facts: BoxFacts) -> str:
    return "<h2>This box</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in _facts_lines(facts)) + "</ul>"


def index_html(runbooks: list[Runbook], facts: BoxFacts) -> str:
    rows = "".join(f"<tr><td><a href='{html.escape(r.id)}.html'>{html.escape(r.title)}</a></td>"
                   f"<td>{html.escape('; '.join(r.when.symptoms[:1]))}</td></tr>" for r in runbooks)
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>Runbooks</title><style>{STYLE}</style>"
            f"<h1>Runbooks of this shop's box</h1><p>Exported {facts.exported_at:%Y-%m-%d %H:%M} UTC. "
            f"Readable without the box: start with <a href='box-lost.html'>box-lost</a> if it is gone.</p>"
            f"<table><tr><th>Runbook</th><th>When</th></tr>{rows}</table>{_facts_html(facts)}</html>\n")


def export(settings: Settings, output: Path, fmt: str = "html", drills: dict[str, str] | None = None) -> list[Path]:
    """Writes every runbook (and an index) into `output`; returns the files written."""
    output.mkdir(parents=True, exist_ok=True)
    facts = box_facts(settings, drills)
    library = load_library()
    written = []
    for runbook in library.values():
        path = output / f"{runbook.id}.{'html' if fmt == 'html' else 'md'}"
        path.write_text(render_html(runbook, facts) if fmt == "html" else render_markdown(runbook, facts),
                        encoding="utf-8")
        written.append(path)
    index = output / ("index.html" if fmt == "html" else "README.md")
    index.write_text(index_html(list(library.values()), facts) if fmt == "html" else
                     "# Runbooks\n\n" + "\n".join(f"- [{r.title}]({r.id}.md)" for r in library.values()) + "\n",
                     encoding="utf-8")
    return [index, *written]


REPUT_AFTER_SECONDS = 7 * 86400  # a target gets the pages again after this long, changed or not


def put_on_targets(settings: Settings, drills: dict[str, str] | None = None, *, force: bool = False) -> dict[str, str]:
    """The HTML export on every target under runbooks/ whose copy is out of date (what the pages are
    made from changed — runbooks, config, a drill, this module — or a week went by); returns the
    targets that failed, with why. A target that is down misses this copy; the next backup puts it
    again. Nothing is rendered when every target is up to date: a backup does not pay for the pages
    every hour (loading and rendering the library costs ~0.4 s)."""
    state_path = settings.home / "run" / "runbook-export.json"
    state = _read_state(state_path)
    fingerprint, now = _fingerprint(settings, drills), clock.now().timestamp()
    stale = [t for t in settings.backup.targets
             if force or state.get(t.name, {}).get("fingerprint") != fingerprint
             or now - state.get(t.name, {}).get("at", 0) >= REPUT_AFTER_SECONDS]
    if not stale:
        return {}
    failed = {}
    with tempfile.TemporaryDirectory(prefix="runbook-export-") as scratch:
        files = export(settings, Path(scratch), "html", drills)
        for target in open_targets(settings):
            if target.name not in {t.name for t in stale}:
                target.close()
                continue
            try:
                for path in files:
                    target.put(path, f"{FOLDER}/{path.name}")
                state[target.name] = {"fingerprint": fingerprint, "at": now}
            except Exception as error:  # noqa: BLE001 - one target's trouble must not stop the others
                failed[target.name] = str(error)
            finally:
                target.close()
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state))
    return failed


def _fingerprint(settings: Settings, drills: dict[str, str] | None) -> str:
    """Of everything the pages are made from, without rendering them."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(loader.LIBRARY.glob("*.yaml")):  # read now: tests point the loader elsewhere
        digest.update(path.name.encode() + path.read_bytes())
    facts = box_facts(settings, drills)
    digest.update(json.dumps([facts.home, facts.database, facts.targets, facts.key_file, facts.drills],
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
