"""Fixtures for the monitors' tests: real servers on loopback, stopped in teardown."""
from __future__ import annotations

import pytest

from .monitor_servers import SmtpServer, WebhookReceiver


@pytest.fixture
def receiver():
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


@pytest.fixture
def smtp_server(tmp_path):
    server = SmtpServer(tmp_path, username="alerts", password="s3cret-pass").start()
    yield server
    server.stop()
