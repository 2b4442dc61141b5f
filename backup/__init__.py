"""3-2-1 backups: snapshot, archive (zstd + AES-256-GCM + signed manifest), targets, verify, restore.

Depends only on the core (`appliance`); the CLI wires it in through cli/wiring.py.
"""
