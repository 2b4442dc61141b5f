"""Recovery runbooks, their step engine, drills and drill reports (not built yet: no issue covers it).

The monitors' drill-age check reads `monitors.recovery_facts.record_drill(...)`, which the drill
runner will call; until then that check reports "unknown".
"""
