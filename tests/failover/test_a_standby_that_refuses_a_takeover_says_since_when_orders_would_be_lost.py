"""A standby that refuses to take over from a primary whose replica was behind (max_lag_on_failover_seconds)
says since when the orders would be lost: the primary's last shipped instant, or, for a primary whose
replica never went through, since it took the lease (not a 1970 time read from a zero). Against a real
etcd cluster, with the primary's published figures put where its holder puts them."""
from __future__ import annotations

import json
import time

import pytest

from appliance import config
from failover.holder import LeaseHolder, replica_key
from tests.failover.pair import make_box
from tests.servers.etcd import etcd_cluster  # noqa: F401


@pytest.fixture
def standby(tmp_path, etcd_cluster):  # noqa: F811
    box = make_box(tmp_path, "box-b", etcd_cluster.endpoints, "standby", f"/{tmp_path.name}/")
    holder = LeaseHolder(config.load(box.home))
    yield holder
    for member in holder.quorum.clients:
        member.close()


def published(holder: LeaseHolder, shipped_through: float, lag_seconds: float) -> None:
    holder.quorum.put(replica_key(holder.settings), json.dumps({
        "holder": "box-a", "epoch": 4, "at": time.time(), "shipped_through": shipped_through,
        "lag_seconds": lag_seconds}))


def test_it_names_the_primarys_last_shipped_instant(standby):
    shipped = time.time() - 42
    published(standby, shipped, 42.0)
    said = standby._loss_if_taken(4)
    assert "box-a's replica was 42 s behind" in said
    assert f"since {time.strftime('%H:%M:%S', time.localtime(shipped))}" in said
    assert "--accept-loss" in said


def test_it_says_the_primary_shipped_nothing_rather_than_a_time_in_1970(standby):
    published(standby, 0, 3600.0)
    said = standby._loss_if_taken(4)
    assert "since it took the lease (its replica has shipped nothing since)" in said
    assert time.strftime("%H:%M:%S", time.localtime(0)) not in said


def test_a_replica_within_the_bound_or_another_epochs_figures_refuse_nothing(standby):
    published(standby, time.time() - 3, 3.0)
    assert standby._loss_if_taken(4) is None
    published(standby, 0, 3600.0)
    assert standby._loss_if_taken(5) is None  # figures of an older lease say nothing of epoch 5's holder
