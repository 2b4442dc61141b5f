"""The drill report managers forward to auditors: per runbook and target, the targets against what
each drill achieved, the trend over time, the slowest phases, and the misses with their reasons.
Read from the drills' evidence files (`drills/<id>/evidence.json` under the home), which outlive
any restore of the database and carry their own hash."""
from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config import Settings


@dataclass
class DrillLine:
    """Drills of one runbook from one target, oldest first."""
    runbook: str
    target: str
    drills: list[dict] = field(default_factory=list)

    @property
    def latest(self) -> dict:
        return self.drills[-1]

    @property
    def met(self) -> int:
        return sum(1 for d in self.drills if met(d))

    @property
    def misses(self) -> list[dict]:
        return [d for d in self.drills if not met(d)]


def met(drill: dict) -> bool:
    return bool(drill.get("succeeded") and drill.get("rto_seconds") is not None
                and drill["rto_seconds"] <= drill["rto_budget_seconds"]
                and drill.get("rpo_seconds") is not None and drill["rpo_seconds"] <= drill["rpo_target_seconds"])


def evidence(settings: Settings) -> list[dict]:
    """Every drill's evidence, oldest first, each marked whether its file still matches its hash
    (an edited evidence file is shown as such, not silently trusted)."""
    found = []
    for path in sorted((settings.home / "drills").glob("rb-*/evidence.json")):
        try:
            drill = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        drill["evidence_intact"] = _intact(path, drill)
        found.append(drill)
    return found


def _intact(path: Path, drill: dict) -> bool:
    recorded = drill.get("evidence_sha256_of_file")
    if not recorded:
        return True  # written before files carried their own hash
    body = {k: v for k, v in drill.items() if k != "evidence_sha256_of_file"}
    return hashlib.sha256(json.dumps(body, indent=2, sort_keys=True).encode()).hexdigest() == recorded


def lines(settings: Settings) -> list[DrillLine]:
    grouped: dict[tuple[str, str], DrillLine] = {}
    for drill in evidence(settings):
        key = (drill["runbook"], drill.get("target") or "default")
        grouped.setdefault(key, DrillLine(*key)).drills.append(drill)
    return sorted(grouped.values(), key=lambda line: (line.runbook, line.target))


def slowest_phases(settings: Settings, limit: int = 5) -> list[tuple[str, str, float]]:
    """(runbook, phase, seconds) of the longest phases seen, from each phase's end times."""
    seen = []
    for drill in evidence(settings):
        ends = sorted(drill.get("phases", {}).items(), key=lambda kv: kv[1])
        previous = 0.0
        for phase, end in ends:
            seen.append((drill["runbook"], phase, round(end - previous, 3)))
            previous = end
    return sorted(seen, key=lambda row: row[2], reverse=True)[:limit]


# -- the page (standalone HTML: the same bytes from `appliance drill report` and the web's download) --

STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1d2733}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d5dae0;padding:.25rem .5rem;text-align:left}
.met{color:#17663a}.missed{color:#a4161a;font-weight:600}.hint{color:#5b6775;font-size:.85rem}
svg .budget{stroke:#a4161a;stroke-dasharray:4 3}svg .bar{fill:#2f6db5}svg .bar.missed{fill:#a4161a}svg text{font-size:11px}"""


def render_body(settings: Settings, now) -> str:
    """The report's content: what the web page shows inside its frame."""
    e = html.escape
    found = lines(settings)
    parts = [f"<p class=hint>Targets: RTO per runbook (its budget), RPO {settings.recovery.rpo_seconds} s "
             f"(<code>[recovery] rpo_seconds</code>). Generated {now:%Y-%m-%d %H:%M} UTC.</p>"]
    if not found:
        parts.append("<p id=no-drills>No drill has run on this box yet: <code>appliance drill run box-lost "
                     "--target NAME</code> runs one.</p>")
        return "\n".join(parts)
    parts.append("<table id=drill-summary><tr><th>Runbook</th><th>Target</th><th>Drills</th><th>Met</th>"
                 "<th>Latest</th><th>RTO achieved / budget</th><th>RPO achieved / target</th></tr>")
    for line in found:
        d = line.latest
        verdict = "met" if met(d) else "missed"
        parts.append(f"<tr data-runbook='{e(line.runbook)}' data-target='{e(line.target)}'><td>{e(line.runbook)}</td>"
                     f"<td>{e(line.target)}</td><td>{len(line.drills)}</td><td>{line.met}</td>"
                     f"<td class={verdict}>{e(d['started_at'][:16].replace('T', ' '))} UTC · {verdict}</td>"
                     f"<td>{seconds_text(d.get('rto_seconds'))} / {d['rto_budget_seconds']} s</td>"
                     f"<td>{seconds_text(d.get('rpo_seconds'))} / {d['rpo_target_seconds']} s</td></tr>")
    parts.append("</table>")
    for line in found:
        parts.append(f"<h2>{e(line.runbook)} from {e(line.target)}: RTO of each drill</h2>{_chart(line)}")
    slow = slowest_phases(settings)
    if slow:
        parts.append("<h2>Slowest phases</h2><table id=slowest><tr><th>Runbook</th><th>Phase</th><th>Seconds</th></tr>"
                     + "".join(f"<tr><td>{e(r)}</td><td>{e(p)}</td><td>{s:.1f}</td></tr>" for r, p, s in slow)
                     + "</table>")
    misses = [(line, d) for line in found for d in line.misses]
    parts.append("<h2>Misses and what happened</h2>")
    if misses:
        parts.append("<table id=misses><tr><th>Drill</th><th>Runbook</th><th>Reason</th><th>Evidence</th></tr>" + "".join(
            f"<tr><td>{e(d['drill_id'])}</td><td>{e(line.runbook)}</td><td>{e(d.get('reason') or 'over its target')}</td>"
            f"<td>{'intact' if d['evidence_intact'] else 'EDITED'}</td></tr>" for line, d in misses) + "</table>")
    else:
        parts.append("<p id=no-misses>None: every drill met its targets.</p>")
    parts.append("<h2>Evidence</h2><table id=evidence><tr><th>Drill</th><th>Who</th><th>When</th><th>Run</th>"
                 "<th>sha256</th><th>File</th></tr>" + "".join(
                     f"<tr><td>{e(d['drill_id'])}</td><td>{e(d['actor'])}</td><td>{e(d['started_at'][:19])}</td>"
                     f"<td>{e(d.get('run_status', ''))}</td><td><code>{e((d.get('evidence_sha256_of_file') or '')[:16])}…</code></td>"
                     f"<td>{'intact' if d['evidence_intact'] else 'EDITED'}</td></tr>"
                     for line in found for d in line.drills) + "</table>")
    return "\n".join(parts)


def render_html(settings: Settings, now) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Restore drills</title>"
            f"<style>{STYLE}</style></head><body><h1>Restore drills</h1>{render_body(settings, now)}"
            f"<footer class=hint>Store Appliance drill report; each drill's evidence file is under "
            f"drills/&lt;id&gt;/evidence.json in the box's home.</footer></body></html>\n")


def seconds_text(value) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _chart(line: DrillLine, width: int = 600, height: int = 160) -> str:
    """RTO of each drill as a bar, the budget as a dashed line; misses in red."""
    values = [d.get("rto_seconds") for d in line.drills]
    budget = line.latest["rto_budget_seconds"]
    top = max([v for v in values if v is not None] + [budget * 0.1]) * 1.15
    scale_budget = budget <= top
    slot = (width - 40) / max(len(values), 1)
    parts = [f"<svg class=drill-chart viewBox='0 0 {width} {height}' role=img "
             f"aria-label='RTO per drill for {html.escape(line.runbook)}'>"]
    for i, (drill, value) in enumerate(zip(line.drills, values)):
        x = 30 + i * slot + slot * 0.15
        h = (height - 30) * (value or 0) / top
        parts.append(f"<rect class='bar{'' if met(drill) else ' missed'}' x='{x:.1f}' y='{height - 20 - h:.1f}' "
                     f"width='{slot * 0.7:.1f}' height='{h:.1f}'><title>{html.escape(drill['drill_id'])}: "
                     f"{seconds_text(value)}</title></rect>")
    if scale_budget:
        y = height - 20 - (height - 30) * budget / top
        parts.append(f"<line class=budget x1='30' x2='{width}' y1='{y:.1f}' y2='{y:.1f}'/>"
                     f"<text x='32' y='{y - 3:.1f}'>budget {budget} s</text>")
    parts.append(f"<text x='30' y='{height - 4}'>oldest</text><text x='{width - 40}' y='{height - 4}'>newest</text></svg>")
    return "".join(parts)
