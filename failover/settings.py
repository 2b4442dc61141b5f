"""The `[failover]` section of appliance.toml: the pair's etcd quorum and the lease's timings.

Owned by this package and registered by the composition root (cli/wiring.py) with `register`.
Start-up refuses timings that could let the lease expire before this box has fenced itself: the
holder must get `retries + 1` renewal attempts, each bounded by `renew_interval_seconds`, and
still stop writing `fence_margin_seconds` before the lease can expire.
"""
from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field, field_validator, model_validator

from appliance import config
from appliance.config import Section


class PatroniSettings(Section):
    """A PostgreSQL pair: Patroni (on the pair's etcd) elects the primary and replicates synchronously;
    the appliance writes through a multi-host `database.url` with `target_session_attrs=read-write`."""
    scope: str = Field("store-appliance", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="The Patroni cluster's name (its keys in etcd live under /service/<scope>/).")
    rest_api: str = Field("127.0.0.1:8008", pattern=r"^[^\s:]+:\d+$", description="host:port this box's Patroni REST API listens on and the other box reaches it at.")
    members_rest_api: list[str] = Field(default_factory=list, description="host:port of every member's Patroni REST API (both boxes), asked in turn by `failover status`; empty: this box's only.")
    postgres_address: str = Field("127.0.0.1:5432", pattern=r"^[^\s:]+:\d+$", description="host:port this box's PostgreSQL listens on and the other box replicates from.")
    data_dir: str = Field("/var/lib/postgresql/appliance", description="PostgreSQL's data folder on this box (Patroni creates it: initdb on the first primary, a base backup on the standby).")
    bin_dir: str = Field("", description="Folder holding PostgreSQL's programs (pg_ctl, initdb...); empty: the newest /usr/lib/postgresql/<version>/bin.")
    replication_password_file: str = Field("keys/pg-replication.secret", description="File holding the password of the `replicator` role the standby streams with (relative to the home folder unless absolute).")
    superuser_password_file: str = Field("keys/pg-superuser.secret", description="File holding the password of PostgreSQL's `postgres` superuser that Patroni manages the server as.")
    ttl_seconds: int = Field(20, ge=20, le=300, description="Patroni's leader key TTL (its minimum, 20 s): a failover starts this long after the primary stopped renewing.")
    loop_wait_seconds: int = Field(2, ge=1, le=60, description="How often Patroni's loop runs (and renews the leader key).")
    retry_timeout_seconds: int = Field(5, ge=3, le=120, description="How long Patroni retries etcd and PostgreSQL operations before it demotes a primary that cannot reach etcd.")
    standby_timeout_seconds: int = Field(5, ge=2, le=600, description="PostgreSQL's wal_sender_timeout on both boxes: how long the primary waits on a synchronous standby that stopped answering (the link between the boxes down, the standby frozen) before it drops the connection; Patroni then stops waiting for a standby and orders go through again, with no failover to the standby until it has caught up. PostgreSQL's default, 60 s, left the shop without orders for over a minute (the namespace rig: none in 75 s; 5 s: 5.3 s without); raise it on a link slower than a LAN.")

    @model_validator(mode="after")
    def _timings(self):
        # Patroni's own rule: a primary that cannot renew must have demoted itself before its key expires.
        if self.loop_wait_seconds + 2 * self.retry_timeout_seconds > self.ttl_seconds:
            raise ValueError(f"the Patroni timings are unsafe: loop_wait_seconds + 2 x retry_timeout_seconds = "
                             f"{self.loop_wait_seconds + 2 * self.retry_timeout_seconds} s must not exceed ttl_seconds "
                             f"({self.ttl_seconds} s)")
        return self


class FailoverSettings(Section):
    enabled: bool = Field(False, description="Run this box as one of a pair: it writes only while it holds the leader lease in etcd (see docs/failover.md).")
    engine: Literal["lease", "patroni"] = Field("lease", description="Who decides which box writes: `lease` (SQLite pairs: the appliance's lease in etcd, a warm standby kept by Litestream) or `patroni` (PostgreSQL pairs: Patroni on the same etcd, synchronous replication; the appliance needs no lease of its own).")
    patroni: PatroniSettings = Field(default_factory=PatroniSettings, description="The PostgreSQL pair under Patroni (engine = \"patroni\").")
    role: Literal["primary", "standby"] = Field("standby", description="Role hint at start-up: a `primary` tries to take the lease at once; a `standby` waits one lease TTL first, so the intended primary wins a cold start. Either takes the lease when it is free.")
    name: str = Field("", pattern=r"^[A-Za-z0-9_.-]{0,64}$", description="This box's name in the lease; empty: the host name.")
    etcd_endpoints: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:2379"], min_length=1, description="Client URLs of the etcd members (one per box and the witness), e.g. `http://10.0.0.1:2379`.")
    key_prefix: str = Field("/store-appliance/", pattern=r"^/[A-Za-z0-9_./-]*/$", description="Where the pair keeps its keys in etcd (`leader`, `epoch`).")
    lease_ttl_seconds: int = Field(6, ge=2, le=300, description="The leader lease's TTL: how long after its holder's last renewal a standby may take over (etcd leases are whole seconds, at least 2).")
    renew_interval_seconds: float = Field(1.0, gt=0, description="How often the holder renews the lease; also each etcd request's timeout.")
    retries: int = Field(2, ge=0, description="Failed renewals tolerated before the fence: the rule is renew_interval_seconds x (retries + 1) + fence_margin_seconds < lease_ttl_seconds.")
    fence_margin_seconds: float = Field(2.0, gt=0, description="The box stops writing this long before its lease can expire (covers a COMMIT in flight and clock rate differences).")
    max_lag_on_failover_seconds: float = Field(10.0, ge=0, description="A standby does not take over by itself from a primary whose replica was this far behind when it last renewed its lease (its shipping failing or restarting): the orders acknowledged meanwhile would be missing. The shop waits for the primary to come back, or an admin runs `failover promote --accept-loss` (`failover rejoin` on the old primary lists what was lost). 0: no bound (Patroni's maximum_lag_on_failover).")
    follow_interval_seconds: float = Field(0.25, gt=0, le=60, description="How often a standby reads the replica's signed index and downloads the primary's new files (`appliance failover follow`); Litestream's follow mode applies them from the local mirror within 0.1 s. The standby's lag is about this plus the primary's quarter-second sync and shipping (issue 12 aims at <= 1 s). Each pass is one request to the replica's target (the index, which names every file shipped), and every 2 s one more (a listing): on S3, mind the request charges before going lower.")

    @field_validator("etcd_endpoints")
    @classmethod
    def _urls(cls, endpoints: list[str]) -> list[str]:
        for url in endpoints:
            if not url.startswith(("http://", "https://")) or url.count(":") < 2:
                raise ValueError(f"each etcd endpoint must be a URL with a port, e.g. http://10.0.0.1:2379 (got {url!r})")
        return endpoints

    @model_validator(mode="after")
    def _timings(self):
        budget = self.renew_interval_seconds * (self.retries + 1) + self.fence_margin_seconds
        if budget >= self.lease_ttl_seconds:
            raise ValueError(
                f"the lease timings are unsafe: renew_interval_seconds x (retries + 1) + fence_margin_seconds "
                f"= {self.renew_interval_seconds:g} x {self.retries + 1} + {self.fence_margin_seconds:g} = {budget:g} s "
                f"must stay below lease_ttl_seconds ({self.lease_ttl_seconds} s)")
        return self

    @property
    def box_name(self) -> str:
        return self.name or socket.gethostname()

    @property
    def fence_after_seconds(self) -> float:
        """How long after a renewal was sent this box stops writing (the lease lives at least TTL)."""
        return self.lease_ttl_seconds - self.fence_margin_seconds


def register() -> None:
    config.register_section("failover", FailoverSettings)
