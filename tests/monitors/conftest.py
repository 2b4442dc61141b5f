"""Fixtures for the monitors' tests: real servers on loopback, stopped in teardown."""
from __future__ import annotations

import pytest

from .monitor_servers import WebhookReceiver


@pytest.fixture
def receiver():
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()
