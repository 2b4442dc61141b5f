"""Recovery runbooks: the library (YAML files in library/), the step engine and its journal,
resume and confirm, the export readable when the box is dead, drills into a sandbox with measured
RTO and RPO, and the drill report. See README "Runbooks" and DESIGN §7.

Modules: model (the file format), loader (validation, lint), journal (the append-only record of a
run), engine (running, resuming, confirming), drill, report, export, models (the journal's copy in
the database), operations, jobs, settings, panel, cli.
"""
