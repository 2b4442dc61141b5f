"""`appliance backup list --target NAME` (or `--from URL`): what a target holds, read from its
manifests (checked with the backup key when there is one), not from this box's catalog: on a new box
it is how to choose a backup, a time or a lineage before restoring. The catalog, when the box has
one, only adds whether each copy was verified.
"""
from __future__ import annotations

from appliance.config import Settings

from . import identity, keys
from . import restore as restoring
from .errors import BackupError, KeyProblem
from .manifest import backup_time
from .targets import Target, open_targets


def _catalog_verify_states(target_name: str) -> dict[str, str]:
    """backup id -> verify state of its copy on this target, from the catalog (empty without one)."""
    from .models import BackupCopy, BackupSet
    try:
        rows = (BackupCopy.select(BackupCopy.verify_state, BackupSet.backup_id).join(BackupSet)
                .where(BackupCopy.target == target_name))
        return {r.backup.backup_id: r.verify_state for r in rows}
    except Exception:  # noqa: BLE001 - no catalog (a new box, a database that is not open): unknown
        return {}


def list_configured(settings: Settings, name: str, limit: int, with_catalog: bool = True) -> dict:
    try:
        key = keys.load(settings.path(settings.backup.key_file))
    except KeyProblem:
        key = None
    (target,) = open_targets(settings, name)
    try:
        return list_target(settings, target, key, limit, _catalog_verify_states(name) if with_catalog else {})
    finally:
        target.close()


def list_target(settings: Settings, target: Target, key: keys.BackupKey | None, limit: int,
                verify_states: dict[str, str] | None = None) -> dict:
    skipped: list[str] = []
    holders = restoring._complete_backups([target], skipped)
    if skipped and not holders:
        raise BackupError(skipped[0])
    newest = dict(sorted(holders.items(), reverse=True)[:limit])
    whose = restoring.survey(settings, newest, key, skipped)
    lins = restoring.lineages(whose)
    own = identity.load(settings)
    default, _, _ = restoring.choose_lineage(whose, None, own.lineage if own else None) if whose else ("", "", [])
    backups = []
    for backup_id in sorted(newest, reverse=True):
        w = whose.get(backup_id)
        if w is None:
            backups.append({"backup_id": backup_id, "created_at": backup_time(backup_id).isoformat() + "Z",
                            "readable": False})
            continue
        m = w["manifest"]
        lin = lins[w["lineage"] or ""]
        backups.append({
            "backup_id": backup_id, "created_at": backup_time(backup_id).isoformat() + "Z", "readable": True,
            "box_id": w["box_id"], "lineage": w["lineage"], "parent_lineage": w["parent_lineage"],
            "sandbox": w["sandbox"], "branch": lin["branch"], "this_box": bool(own and w["box_id"] == own.box_id),
            "restore_default": (w["lineage"] or "") == default,
            "counts": m.get("counts", {}), "payload_bytes": m.get("payload_bytes"),
            "carries_config": bool(m.get("carried")),
            "manifest": "ok" if key is not None else "unchecked (no backup key)",
            "verified": (verify_states or {}).get(backup_id, "unknown"),
        })
    return {"target": target.name, "backups": backups, "skipped": skipped,
            "lineages": {name or "": {k: v for k, v in lin.items()} for name, lin in lins.items()},
            "restore_default_lineage": default}


def lines(result: dict) -> list[str]:
    out = [f"target {result['target']}: {len(result['backups'])} backup(s); a plain restore takes lineage "
           f"{result['restore_default_lineage'] or '(unnamed)'}"]
    for b in result["backups"]:
        if not b["readable"]:
            out.append(f"{b['backup_id']}  manifest unreadable")
            continue
        counts = " ".join(f"{k}={v}" for k, v in b["counts"].items() if k in ("orders", "products", "customers", "users"))
        marks = [m for m, on in (("this box", b["this_box"]), ("sandbox", b["sandbox"]), ("branch", b["branch"]),
                                 ("restore default", b["restore_default"])) if on]
        out.append(f"{b['backup_id']}  {b['created_at'][:19].replace('T', ' ')}  box {b['box_id'] or '-'}  "
                   f"lineage {b['lineage'] or '-'}  {counts}  verified {b['verified']}"
                   + (f"  [{', '.join(marks)}]" if marks else ""))
    for reason in result["skipped"]:
        out.append(f"skipped: {reason}")
    return out
