"""Health monitors: checks, a check-state engine with flap damping, alert delivery, the uptime
ledger and Prometheus metrics. May import `backup` and `appliance`, never `runbooks` or `web`."""
