"""Runs schemathesis' engine (what `st run` runs: examples, coverage, fuzzing and stateful phases, with
its standard checks) over /api/v1/openapi.json against a box served on 127.0.0.1, and returns the
failures. Used by tests/api/test_schemathesis_finds_no_failure.py (bounded) and, for a longer run, by
`python -m tests.api.schemathesis_run --examples 100` (docs/api.md).

One exception, narrow and said here: POST /orders, POST /orders/{number}/pay, POST
/orders/{number}/return and the three reports may answer 422 to a request every part of which the
schema allows, because their rules tie fields together and OpenAPI cannot say so: payments must add
up to what is due and cash tendered must cover its amount (docs/api.md "Payments"); a return takes
back at most what the order sold and refunds at most what was paid; a report's `to` comes after its
`from`, at most two years later. Only the positive-data check is told so, only for these operations.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import schemathesis
from schemathesis.engine import Status, events
from werkzeug.serving import WSGIRequestHandler, make_server

CROSS_FIELD_RULES = ["/api/v1/orders", "/api/v1/orders/{number}/pay", "/api/v1/orders/{number}/return",
                     "/api/v1/reports/sales",
                     "/api/v1/reports/processing", "/api/v1/reports/takings"]
ACCEPTED = '["2xx", "3xx", 401, 403, 404, 409, 429, 422]'


def config(token: str, examples: int, stateful: bool, seed: int = 1) -> schemathesis.Config:
    exceptions = "".join(f'''
[[operations]]
include-path = "{path}"
checks.positive_data_acceptance.expected-statuses = {ACCEPTED}
''' for path in CROSS_FIELD_RULES)
    return schemathesis.Config.from_str(f'''
seed = {seed}
[auth.openapi.bearer]
bearer = "{token}"
[generation]
max-examples = {examples}
deterministic = true
database = "none"
[phases.stateful]
enabled = {"true" if stateful else "false"}
max-steps = {max(examples * 4, 10)}
{exceptions}''')


class KeepAlive(WSGIRequestHandler):
    """HTTP/1.1: one connection (and one thread, one database connection) for many requests."""
    protocol_version = "HTTP/1.1"

    def log_request(self, *args) -> None:
        pass


@contextmanager
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAlive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def failures(base_url: str, token: str, examples: int, stateful: bool, seed: int = 1) -> list[str]:
    """One line per failed check (operation, check, status, what was sent), plus engine errors."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json",
                                           config=config(token, examples, stateful, seed))
    found: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status in (Status.FAILURE, Status.ERROR):
                        node = event.recorder.cases.get(case_id)
                        case = node.value if node else None
                        failure = check.failure_info.failure if check.failure_info else None
                        found.append(f"{event.label} :: {check.name} :: {getattr(failure, 'title', check.status)} :: "
                                     f"{getattr(failure, 'message', '')!s:.300} :: "
                                     f"{case and case.method} {case and case.formatted_path} query={case and case.query} "
                                     f"body={str(getattr(case, 'body', ''))[:300]}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            found.append(f"engine error: {event.info.message if hasattr(event, 'info') else event}")
    return sorted(set(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-stateful", action="store_true")
    args = parser.parse_args()
    from tests.api.test_schemathesis_finds_no_failure import a_box
    with a_box(Path(tempfile.mkdtemp())) as (app, token), served(app) as base_url:
        found = failures(base_url, token, args.examples, not args.no_stateful, args.seed)
    print("\n".join(found) or "no failures")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
