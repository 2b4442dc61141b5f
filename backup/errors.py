"""Backup failures as one-sentence errors (the CLI prints them on one line and exits 1)."""
from __future__ import annotations

from appliance.errors import AppError


class BackupError(AppError):
    status = 500


class KeyProblem(BackupError):
    """The backup key is missing, malformed, or not the one a backup was made with."""


class CorruptCopy(BackupError):
    """A copy fails a checksum, HMAC, decryption, integrity or count check: try another copy."""


class UnsupportedFormat(BackupError):
    """The manifest was written by a newer appliance: upgrade before restoring it."""


class TargetUnavailable(BackupError):
    """A target could not be reached or refused an operation."""


class ObjectLocked(TargetUnavailable):
    """The object is under Object Lock retention and cannot be deleted yet."""


class RestoreRefused(BackupError):
    """Restoring would overwrite an existing database without --force."""


class NothingToRestore(BackupError):
    """No complete, good copy matches the request."""


class MissingObject(BackupError):
    """A target does not hold the object asked for."""
