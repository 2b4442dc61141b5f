"""Failover to a standby box: the pair's leader lease in etcd, epochs, and self-fencing before expiry.

`settings` ([failover]), `quorum` (etcd through its JSON gateway), `holder` (the lease holder process:
takes the key with a new epoch, renews it, writes the core's write permit), `control` (status,
promote, demote), `operations` (registered with appliance/operations.py). See docs/failover.md.
"""
