"""The replica leaves the box encrypted: Litestream writes it to a local outbox folder, and the
shipper seals each of its files with the backup key before copying it to the replica's target.

Why not Litestream's own replica clients: Litestream v0.5 refuses its `age` encryption (it was
disabled upstream after 0.5.0 silently wrote plaintext: benbjohnson/litestream#790, #791), and every
copy that leaves the box must be encrypted. So Litestream replicates to a `file` replica on this box
(`backup.replication.outbox`), and the appliance ships that folder.

- Outbox: Litestream's file replica, `ltx/<level>/<min TXID>-<max TXID>.ltx`, each file written to a
  temporary name and renamed (so a listed `.ltx` is complete). Level 0 holds each synced batch of
  transactions, levels 1-3 compactions, level 9 snapshots of the whole database.
- Remote: `<level>/<min>-<max>.ltx.aes` under the replica location, each the LTX file in the backups'
  chunked AES-256-GCM format (backup/crypto.py, the backup key's encryption key): a changed, swapped in
  part, truncated or foreign file fails decryption, and Litestream checks every LTX checksum on restore.
  Each file has a key of its own (format 2, HKDF from a salt in its header) and its remote key (level
  and TXID range) is bound into its authenticated data: a file renamed or copied over another fails.
- Signed index (`index.json` beside the levels): after each pass that changed the remote, the shipper
  writes every file it shipped with its SHA-256, the newest TXID and that transaction's capture time,
  signed with an HMAC-SHA256 key derived from the backup key by HKDF. Without it a replica whose newest
  files were deleted would restore "to the last second" an older state without a word; with it a
  restore says what is missing (`FetchReport.missing`), and refuses a file whose SHA-256 is not the
  one the index lists (after listing again). Deleting the index too is no way out: files
  sealed in format 2 say the shipper wrote one. Rolling the index back to an older signed copy
  together with the files is not detected (nothing outside the target remembers the newest index).
- One pass (`ship_once`): upload every outbox file not yet shipped with its current size and mtime, in
  the order Litestream made them (so the remote is at every moment a state Litestream's own replica
  went through), then delete remote files that left the outbox (compacted or expired by Litestream)
  or that no outbox ever held (an earlier life of the box). Deleting waits until every upload of the
  pass succeeded and the outbox describes the whole database (a level-9 snapshot, or a file starting
  at TXID 1), so an empty or new outbox never empties the remote.
- What was shipped is kept in `run/replica-shipped.json` (key -> size, mtime) so a restart does not
  upload everything again; the remote is listed again every `probe_interval_seconds`, and a file that
  went missing there is shipped again.
- Restore (`fetch`): download and unseal into a scratch file replica, which `litestream restore`
  then reads, the files Litestream's restore plan reads (`restore_plan`: the newest snapshot and the
  files that extend it furthest) — not every level's copy of the same transactions, which is several
  times the database — or, for a restore as of a time, every file, each file's mtime set to its LTX
  header time (Litestream picks files by time then).
  The box may keep writing meanwhile: Litestream compacts its small files and removes them a few
  minutes later, and the shipper then removes them from the replica, so a listed file can be gone
  by the time it is downloaded. The remote is then listed again and the local copy made to mirror
  the new listing (files that left it dropped, new ones downloaded), until one whole listing is
  down. Every listing is a state Litestream's own replica went through (uploads first, in order,
  removals after), and the files a listing names are checked to chain from TXID 1 to the newest
  one without a gap (a listing read while the shipper changed several levels could miss the
  compacted file that replaced the removed ones); a gap is listed again too. The index is read before
  each listing: the shipper writes it after the uploads it lists, and a compaction only removes files
  whose transactions a file uploaded before it holds, so a listing always reaches the index's newest
  TXID unless files were removed behind the shipper's back.
- Missing newest files are a warning, not an error: the restore goes ahead with what the replica
  holds and states the point it reached and what the index says is missing. When the box is gone the
  missing files exist nowhere else, and refusing would leave the shop with no database at all; the
  admin has to know what to re-enter, or to compare with the newest backup. `replication verify`
  records the run as partial; while the box lives, the shipper ships the missing files again at its
  next listing (`probe_interval_seconds`).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import re
import struct
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from appliance.config import Settings

from . import targets
from .crypto import EncryptingWriter, decrypt_chunks, format_of
from .errors import BackupError, CorruptCopy, MissingObject, ObjectLocked
from .progress import Progress
from .staging import WorkingFolder, take_folder
from .stream import downloading

log = logging.getLogger(__name__)

JOURNAL_FILE = "run/replica-shipped.json"
SEALED_SUFFIX = ".ltx.aes"
REMOTE_KEY = re.compile(r"^(\d+)/([0-9a-f]{16})-([0-9a-f]{16})\.ltx\.aes$")
LOCAL_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$")
SNAPSHOT_LEVEL = 9
CHUNK = 1024 * 1024
LTX_TIMESTAMP = struct.Struct(">q")  # LTX header: magic, flags, page size, commit, min, max TXID, then ms
LTX_TIMESTAMP_OFFSET = 32
FETCH_ATTEMPTS = 8            # listings a restore tries while files are compacted away under it
FETCH_RETRY_SECONDS = 0.5     # the pause before listing again, doubling up to FETCH_RETRY_MAX_SECONDS
FETCH_RETRY_MAX_SECONDS = 5
INDEX_KEY = "index.json"
INDEX_FORMAT = 1
INDEX_HMAC_INFO = b"store-appliance replica index hmac v1"


@dataclass(frozen=True)
class OutboxFile:
    key: str  # the remote key
    path: Path
    size: int
    mtime_ns: int
    min_txid: int
    max_txid: int

    @property
    def fingerprint(self) -> list[int]:
        return [self.size, self.mtime_ns]


def remote_key(level: int, name: str) -> str:
    return f"{level}/{name[:-len('.ltx')]}{SEALED_SUFFIX}"


def max_txid(key: str) -> int:
    return int(REMOTE_KEY.match(key).group(3), 16)


# A level folder listed this long after its last change is listed again only once it changes (its
# mtime): a folder's mtime comes from the kernel's coarse clock (a tick late at most), so a change
# made just after a listing could carry the mtime the listing saw; a second is far beyond a tick.
SETTLED_NS = 1_000_000_000


@dataclass
class OutboxListing:
    """What `outbox_files` found in each level folder, and the folder's mtime then: a shipper's pass
    that finds nothing new lists no folder again (Litestream keeps minutes of level-0 files, ~4 a
    second on a pair: 286 after a minute of orders and growing, each a stat, ~11 µs a file)."""
    levels: dict[str, tuple[int, int, dict[str, OutboxFile]]] = field(default_factory=dict)  # path -> (mtime, listed at, files)

    def files(self, level: os.DirEntry) -> dict[str, OutboxFile] | None:
        """The files listed before, while the folder has not changed since a listing made after it settled."""
        known = self.levels.get(level.path)
        if known is None:
            return None
        mtime, listed_at, files = known
        try:
            unchanged = level.stat().st_mtime_ns == mtime
        except OSError:
            return None
        return files if unchanged and mtime < listed_at - SETTLED_NS else None


def outbox_files(outbox: Path, listing: OutboxListing | None = None) -> dict[str, OutboxFile]:
    """Every complete LTX file in the outbox, by remote key; with `listing`, a level folder that has
    not changed since `listing` last saw it is not listed again (Litestream writes each file under a
    temporary name and renames it, and removes files whole: either changes the folder's mtime)."""
    found = {}
    try:
        levels = [entry for entry in os.scandir(outbox / "ltx") if entry.is_dir() and entry.name.isdigit()]
    except OSError:
        return {}
    if listing is not None:
        listing.levels = {path: known for path, known in listing.levels.items() if path in {e.path for e in levels}}
    for level in levels:
        if listing is not None and (known := listing.files(level)) is not None:
            found.update(known)
            continue
        listed_at = time.time_ns()
        try:
            mtime = level.stat().st_mtime_ns
            entries = list(os.scandir(level.path))
        except OSError:
            continue  # removed by Litestream right now
        files = _level_files(level, entries)
        found.update(files)
        if listing is not None:
            listing.levels[level.path] = (mtime, listed_at, files)
    return found


def _level_files(level: os.DirEntry, entries: list[os.DirEntry]) -> dict[str, OutboxFile]:
    found = {}
    for entry in entries:
        match = LOCAL_NAME.match(entry.name)
        if not match:
            continue  # a temporary file Litestream is writing
        try:
            st = entry.stat()
        except OSError:
            continue
        key = remote_key(int(level.name), entry.name)
        found[key] = OutboxFile(key, Path(entry.path), st.st_size, st.st_mtime_ns,
                                int(match.group(1), 16), int(match.group(2), 16))
    return found


def seal(source: Path, sealed: Path, encryption_key: bytes, key: str) -> str:
    """Seals `source` as the remote file `key` (bound into its authenticated data); returns the
    sealed file's SHA-256 (hex)."""
    sha = hashlib.sha256()

    class _Hashing:
        def __init__(self, out):
            self.out = out

        def write(self, data) -> int:
            sha.update(data)
            return self.out.write(data)

    with open(source, "rb") as src, open(sealed, "wb") as out:
        writer = EncryptingWriter(_Hashing(out), encryption_key, CHUNK, key.encode())
        while block := src.read(CHUNK):
            writer.write(block)
        writer.close()
    return sha.hexdigest()


def unseal(sealed: Path | BinaryIO, plain: Path, encryption_key: bytes, where: str, key: str) -> None:
    """Opens the remote file `key`, a file or a download being read (format 1 files, sealed before
    names were bound, open too)."""
    with (open(sealed, "rb") if isinstance(sealed, Path) else nullcontext(sealed)) as src, open(plain, "wb") as out:
        for block in decrypt_chunks(src, encryption_key, where, context=key.encode()):
            out.write(block)


# -- the signed index ---------------------------------------------------------------------------------

def index_mac_key(encryption_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INDEX_HMAC_INFO).derive(encryption_key)


def _index_mac(fields: dict, encryption_key: bytes) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(index_mac_key(encryption_key), body, hashlib.sha256).hexdigest()


def sign_index(files: dict[str, str | None], newest_txid: int, newest_time: float | None,
               encryption_key: bytes, written_at: float | None = None) -> bytes:
    fields = {"format": INDEX_FORMAT, "files": files, "newest_txid": newest_txid, "newest_time": newest_time,
              "written_at": time.time() if written_at is None else written_at}
    return json.dumps({**fields, "hmac": _index_mac(fields, encryption_key)}, sort_keys=True).encode()


class IndexProblem(Exception):
    pass


def read_index(raw: bytes, encryption_key: bytes) -> dict:
    """The index's fields once its HMAC holds; IndexProblem (a sentence fragment) when it does not."""
    try:
        data = json.loads(raw)
        mac = data.pop("hmac")
        files, newest = data["files"], data["newest_txid"]
        if not isinstance(files, dict) or not isinstance(newest, int):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise IndexProblem("is not a replica index") from None
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _index_mac(data, encryption_key)):
        raise IndexProblem("fails its HMAC check (altered, or made with another backup key)")
    if data.get("format") != INDEX_FORMAT:
        raise IndexProblem("is in a newer format than this appliance reads")
    return data


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "time unknown"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def ltx_time(path: Path) -> float:
    """The capture time an LTX file's header carries (epoch seconds, the box's clock)."""
    with open(path, "rb") as f:
        f.seek(LTX_TIMESTAMP_OFFSET)
        (ms,) = LTX_TIMESTAMP.unpack(f.read(LTX_TIMESTAMP.size))
    return ms / 1000


def open_replica_target(settings: Settings, t, location: str):
    """The replica's target `t`, rooted at the replica location; never Object Lock (files are replaced
    and deleted as Litestream compacts; the sealed archives are what Object Lock protects)."""
    root = {"path": location} if t.kind == "sftp" else {"prefix": location}
    lock = {"object_lock_days": 0} if t.kind == "s3" else {}
    return targets.build(t.model_copy(update={**root, **lock}), settings)


class Shipper:
    """Mirrors the outbox to the replica, sealed. One per box (it runs under the supervisor's lock)."""

    def __init__(self, settings: Settings, target_settings, location: str, description: str,
                 outbox: Path, encryption_key: bytes):
        self.settings = settings
        self.outbox = outbox
        self.description = description
        self._key = encryption_key
        self._target = open_replica_target(settings, target_settings, location)
        self._journal_path = settings.path(JOURNAL_FILE)
        self._scratch: WorkingFolder | None = None  # this shipper's own folder in the staging dir
        self._digests: dict[str, str] = {}  # key -> SHA-256 of the sealed file, for the index
        self._times: dict[str, float] = {}   # key -> capture time of its newest transaction
        self._shipped: dict[str, list[int]] = self._load_journal()
        self._index_current = False  # the remote index describes self._shipped
        self._strays: set[str] = set()
        self._undeletable: set[str] = set()
        self._listed_at = 0.0
        self._outbox_listing = OutboxListing()  # what the outbox held at the last pass, folder by folder
        self._shipped_changed = True  # since replica_txid was worked out
        # Read by the supervisor's thread: plain values, replaced whole at the end of each good pass.
        self.replica_txid: int | None = None  # the newest transaction the remote holds; None before a pass
        self.confirmed_at: float | None = None  # when the remote was last known to hold it
        # Every transaction Litestream had captured before this instant (wall clock) is in the replica:
        # the start of the last pass that went through. The lease holder tells etcd (failover/holder.py)
        # so that a standby knows how much a takeover could lose.
        self.shipped_through: float | None = None

    def ship_once(self) -> bool:
        """One pass; True when it changed the remote. Raises TargetUnavailable (nothing lost: the
        next pass starts from what the journal says)."""
        started = time.time()
        if started - self._listed_at >= self.settings.backup.replication.probe_interval_seconds:
            self._reconcile()
        local = outbox_files(self.outbox, self._outbox_listing)
        pending = sorted((f for f in local.values() if self._shipped.get(f.key) != f.fingerprint),
                         key=lambda f: (f.mtime_ns, f.key))
        if pending:
            self._index_current = False  # until the index lists them (a failed pass writes it next time)
        try:
            for f in pending:
                self._upload(f)
        finally:
            if pending:
                self._save_journal()
        # The index after the uploads it lists, and again after deletions: a restore never sees an index
        # newer than the files (nor one still naming files of an earlier life after they were deleted).
        if not self._index_current and self._shipped:  # a shipper that shipped nothing writes nothing
            self._write_index()
        deleted = self._delete_gone(local)
        if not self._index_current and self._shipped:
            self._write_index()
        if self._shipped_changed or self.replica_txid is None:  # a pass that found nothing new: as it was
            self.replica_txid = max((max_txid(k) for k in self._shipped), default=0)
            self._shipped_changed = False
        self.confirmed_at = time.time()
        self.shipped_through = started  # what Litestream had captured when the pass began is all there now
        return bool(pending or deleted)

    def close(self) -> None:
        self._target.close()
        if self._scratch is not None:
            self._scratch.release()
            self._scratch = None

    # -- steps --------------------------------------------------------------------------------

    def _reconcile(self) -> None:
        """What the remote really holds: forget shipped files that went missing there (they are
        shipped again) and remember files no outbox of ours shipped (deleted once the outbox is whole)."""
        remote = {k for k in self._target.list() if REMOTE_KEY.match(k)}
        missing = set(self._shipped) - remote
        if missing:
            log.warning("replica %s lost %d file(s); shipping them again", self.description, len(missing))
            self._shipped_changed = True
            for key in missing:
                del self._shipped[key]
                self._digests.pop(key, None)
            self._save_journal()
        self._strays = remote - set(self._shipped)
        self._listed_at = time.time()

    def _upload(self, f: OutboxFile) -> None:
        if self._scratch is None:  # owned by this shipper: a backup run starting now leaves it alone
            self._scratch = take_folder(self.settings, "replica-sealing")
        sealed = self._scratch.path / f"{f.path.name}.aes"
        try:
            try:
                captured = ltx_time(f.path)
                digest = seal(f.path, sealed, self._key, f.key)
            except FileNotFoundError:
                return  # Litestream removed it meanwhile (compacted): nothing to ship
            self._target.put(sealed, f.key)
        finally:
            sealed.unlink(missing_ok=True)
        self._shipped[f.key] = f.fingerprint
        self._shipped_changed = True
        self._digests[f.key] = digest
        self._times[f.key] = captured
        self._strays.discard(f.key)

    def _delete_gone(self, local: dict[str, OutboxFile]) -> int:
        if not any(f.min_txid == 1 or f.key.startswith(f"{SNAPSHOT_LEVEL}/") for f in local.values()):
            return 0  # the outbox does not describe the whole database yet (no snapshot, no history from TXID 1)
        gone = sorted((set(self._shipped) | self._strays) - set(local) - self._undeletable)
        if gone:
            self._index_current = False
        for key in gone:
            try:
                self._target.delete(key)
            except ObjectLocked:
                log.warning("replica file %s is under Object Lock; left in place", key)
                self._undeletable.add(key)
            self._shipped.pop(key, None)
            self._shipped_changed = True
            self._digests.pop(key, None)
            self._times.pop(key, None)
            self._strays.discard(key)
        if gone:
            self._save_journal()
        return len(gone)

    def _write_index(self) -> None:
        """The signed index of what the remote holds: written after the uploads it lists."""
        self._index_current = False
        newest = max(self._shipped, key=max_txid, default=None)
        raw = sign_index({k: self._digests.get(k) for k in sorted(self._shipped)},
                         max_txid(newest) if newest else 0, self._times.get(newest) if newest else None,
                         self._key)
        self._target.put_stream(io.BytesIO(raw), INDEX_KEY)
        self._index_current = True

    # -- journal ------------------------------------------------------------------------------

    def _load_journal(self) -> dict[str, list[int]]:
        try:
            data = json.loads(self._journal_path.read_text())
        except (OSError, ValueError):
            return {}
        if data.get("replica") != self.description:
            return {}  # shipped somewhere else: this replica starts from nothing
        files = {k: v for k, v in data.get("files", {}).items() if REMOTE_KEY.match(k)}
        self._digests = {k: v for k, v in data.get("digests", {}).items() if k in files}
        self._times = {k: v for k, v in data.get("times", {}).items() if k in files}
        return files

    def _save_journal(self) -> None:
        self._journal_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._journal_path.with_name(self._journal_path.name + ".tmp")
        tmp.write_text(json.dumps({"replica": self.description, "files": self._shipped,
                                   "digests": self._digests, "times": self._times}))
        os.replace(tmp, self._journal_path)


@dataclass
class FetchReport:
    files: int
    txid: int                   # the newest transaction the downloaded files hold
    captured: float | None      # its capture time (epoch seconds)
    missing: str | None = None  # one sentence when the signed index lists newer files than the replica holds
    notes: list[str] = field(default_factory=list)  # why completeness could not be checked


def fetch(settings: Settings, target_settings, location: str, description: str, encryption_key: bytes,
          into: Path, show_progress: bool = True, every_file: bool = False) -> FetchReport:
    """Downloads and unseals into `into` (a Litestream file replica) the replica's files its newest
    state needs (`every_file`: all of them, for a restore as of a time), and checks them against the
    replica's signed index.

    While the box writes, files leave the replica under a restore (compacted by Litestream, then
    removed by the shipper): a file gone before it was downloaded, or a listing with a gap, makes
    it list again and mirror the new listing, keeping what it already has (FETCH_ATTEMPTS times)."""
    target = open_replica_target(settings, target_settings, location)
    download = into.with_name(into.name + ".download")
    held: dict[str, Path] = {}  # key -> its unsealed file in `into`
    sealed: dict[str, tuple[int | None, str]] = {}  # key -> its sealed format and SHA-256
    pause = FETCH_RETRY_SECONDS
    try:
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            index = _fetch_index(target, download, encryption_key)  # before the listing: see the module's doc
            keys = [k for k in target.list() if REMOTE_KEY.match(k)]
            if not keys:
                raise BackupError(f"The replica {description} holds no files: nothing to restore.")
            plan, gap = restore_plan(keys)
            wanted = keys if every_file else plan
            for key in set(held) - set(wanted):  # left the replica (compacted) or the plan since the last listing
                held.pop(key).unlink(missing_ok=True)
            try:
                if gap is not None:
                    raise _ListingChanged(f"the listing has no file after transaction {gap:#x}")
                _download(target, [k for k in wanted if k not in held], held, sealed, into, download, description,
                          encryption_key, show_progress)
                return _check_against_index(description, wanted, held, sealed, index)
            except (_ListingChanged, MissingObject) as e:
                why = e.message if isinstance(e, MissingObject) else str(e)
                if attempt == FETCH_ATTEMPTS and isinstance(e, _NotAsIndexed):
                    raise BackupError(f"The replica {description} holds {why}: it was replaced or rolled back "
                                      "since it was shipped; nothing was changed.") from None
                if attempt == FETCH_ATTEMPTS:
                    raise BackupError(f"The replica {description} kept changing while it was downloaded "
                                      f"({FETCH_ATTEMPTS} listings; last: {why}); nothing was changed. "
                                      "Try again, or stop the box that writes to it.") from None
                log.info("replica %s changed while it was downloaded (%s); listing it again", description, why)
                time.sleep(pause)
                pause = min(FETCH_RETRY_MAX_SECONDS, pause * 2)
        raise AssertionError("unreachable")
    finally:
        download.unlink(missing_ok=True)
        target.close()


def _fetch_index(target, download: Path, encryption_key: bytes) -> dict | IndexProblem | None:
    """The replica's signed index, an IndexProblem when it does not check, None when there is none."""
    try:
        target.get(INDEX_KEY, download)
    except MissingObject:
        return None
    try:
        return read_index(download.read_bytes(), encryption_key)
    except IndexProblem as e:
        return e
    finally:
        download.unlink(missing_ok=True)


def _check_against_index(description: str, keys: list[str], held: dict[str, Path],
                         sealed: dict[str, tuple[int | None, str]], index: dict | IndexProblem | None) -> FetchReport:
    newest_key = max(keys, key=max_txid)
    report = FetchReport(len(keys), max_txid(newest_key), ltx_time(held[newest_key]))
    unchecked = "whether its newest files are all there cannot be checked"
    if index is None:
        if any(sealed[k][0] == 2 for k in keys):
            report.notes.append(f"The replica {description} has no signed index although its files were sealed by "
                                f"an appliance that writes one (it was removed): {unchecked}.")
        else:
            report.notes.append(f"The replica {description} has no signed index (it was shipped by an older "
                                f"appliance): {unchecked}.")
    elif isinstance(index, IndexProblem):
        report.notes.append(f"The signed index of the replica {description} {index}: {unchecked}.")
    elif replaced := sorted(k for k in keys if index["files"].get(k) not in (None, sealed[k][1])):
        for key in replaced:  # downloaded again at the next listing: the shipper may have just shipped it again
            held.pop(key).unlink(missing_ok=True)
        raise _NotAsIndexed(f"{replaced[0]}, which is not the file its signed index lists"
                            + (f" (nor are {len(replaced) - 1} more)" if len(replaced) > 1 else ""))
    elif index["newest_txid"] > report.txid:
        lost = sorted(k for k in index["files"] if REMOTE_KEY.match(k) and max_txid(k) > report.txid)
        report.missing = (
            f"The replica {description} ends at transaction {report.txid} ({_when(report.captured)}) but its "
            f"signed index (written {_when(index.get('written_at'))}) lists files up to transaction "
            f"{index['newest_txid']} ({_when(index.get('newest_time'))}): {len(lost)} newest "
            f"file{'' if len(lost) == 1 else 's'} missing ({', '.join(lost[:3])}{', …' if len(lost) > 3 else ''}), "
            f"so a restore reaches {_when(report.captured)} at the latest.")
    return report


class _HashingReader:
    """A download read through: its SHA-256 and first bytes (the sealed format) on the way."""

    def __init__(self, source):
        self._source, self.path = source, source.path
        self.sha, self.head = hashlib.sha256(), b""

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self.sha.update(data)
        if len(self.head) < 8:
            self.head += data[:8 - len(self.head)]
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _ListingChanged(Exception):
    pass


class _NotAsIndexed(_ListingChanged):
    """A downloaded file's SHA-256 differs from the one the signed index lists."""


@dataclass
class MirrorReport:
    newest_txid: int               # the newest transaction the replica holds
    newest_time: float | None      # its capture time (epoch seconds), once the mirror holds its file
    downloaded: int                # files fetched by this pass
    missing: str | None = None     # the signed index lists newer files than the replica holds


class Mirror:
    """A follower's unsealed copy of the replica in `into` (a Litestream file replica that
    `litestream restore -f` reads), brought up to date by `sync` a pass at a time: the restore plan
    while nothing is applied yet, then every file newer than what is applied, at any level (follow
    mode applies level 0 and bridges a gap from the higher levels); files at or below what is
    applied are removed, the snapshot too (Litestream refuses to resume past the newest snapshot it
    sees). Each file appears whole (unsealed under another name, then renamed)."""

    def __init__(self, settings: Settings, target_settings, location: str, description: str,
                 encryption_key: bytes, into: Path):
        self.into, self.description, self._key = into, description, encryption_key
        self._target = open_replica_target(settings, target_settings, location)
        self._times: dict[int, float] = {}  # max TXID -> capture time of the files this mirror fetched

    def held(self) -> dict[str, Path]:
        found = {}
        for level in (self.into / "ltx").glob("*"):
            for plain in level.glob("*.ltx"):
                if level.name.isdigit() and LOCAL_NAME.match(plain.name):
                    found[remote_key(int(level.name), plain.name)] = plain
        return found

    def sync(self, applied: int | None, listing: bool = True) -> MirrorReport:
        """One pass; `applied`: the TXID the follower has applied (None: it has not restored yet).
        `listing` False: once a copy exists, the files are those the signed index names (the shipper
        writes it after the uploads it lists and after its deletions): one request to the target
        instead of two. The replica is listed all the same while nothing is applied (the restore plan
        wants the listing) and when the index is missing or fails its check."""
        index = _fetch_index(self._target, self._download_path, self._key)
        if listing or applied is None or not isinstance(index, dict):
            keys = [k for k in self._target.list() if REMOTE_KEY.match(k)]
        else:
            keys = [k for k in index["files"] if REMOTE_KEY.match(k)]
        if not keys:
            raise BackupError(f"The replica {self.description} holds no files: nothing to follow.")
        plan, gap = restore_plan(keys)
        held = self.held()
        if applied is None:
            wanted = [] if gap is not None else plan  # a listing read mid-change: the next pass
        else:
            wanted = [k for k in keys if not k.startswith(f"{SNAPSHOT_LEVEL}/") and max_txid(k) > applied]
            for key in set(held) - set(wanted):  # applied, or compacted away
                if max_txid(key) <= applied or key not in keys:
                    held.pop(key).unlink(missing_ok=True)
        new = sorted((k for k in wanted if k not in held), key=lambda k: (_min_txid(k), max_txid(k)))
        try:
            _download(self._target, new, held, {}, self.into, self._download_path, self.description, self._key,
                      show_progress=False)
        except MissingObject:
            pass  # compacted away between the listing and the download: the next pass lists again
        for key in new:
            if key in held:
                self._times[max_txid(key)] = ltx_time(held[key])
        newest = max(map(max_txid, keys))
        missing = None
        if isinstance(index, dict) and index.get("newest_txid", 0) > newest:
            missing = (f"The replica {self.description} ends at transaction {newest} but its signed index lists "
                       f"files up to transaction {index['newest_txid']}.")
        newest_time = self._times.get(newest)
        if newest_time is None and isinstance(index, dict) and index.get("newest_txid") == newest:
            newest_time = index.get("newest_time")
        return MirrorReport(newest, newest_time, len(new), missing)

    def capture_time(self, txid: int) -> float | None:
        """When the transaction `txid` was captured, if a file this mirror fetched ends there."""
        return self._times.get(txid)

    @property
    def _download_path(self) -> Path:
        return self.into.with_name(self.into.name + ".download")

    def close(self) -> None:
        self._target.close()


def _min_txid(key: str) -> int:
    return int(REMOTE_KEY.match(key).group(2), 16)


def restore_plan(keys: list[str]) -> tuple[list[str], int | None]:
    """The files Litestream's restore reads for the newest state, as its CalcRestorePlan picks them
    (v0.5): the newest snapshot, then again and again the file at any level that reaches furthest
    among those starting at most one past what it has (ties: the lower start, then the higher
    level). Second: None when they reach the newest TXID the listing holds, else the TXID after which
    nothing follows (a gap: the listing was read while the shipper changed several levels)."""
    files = [(int(m.group(1)), int(m.group(2), 16), int(m.group(3), 16), key)
             for key, m in ((k, REMOTE_KEY.match(k)) for k in keys) if m]
    if not files:
        return [], None
    newest = max(hi for _, _, hi, _ in files)
    snapshots = [f for f in files if f[0] == SNAPSHOT_LEVEL]
    plan = [max(snapshots, key=lambda f: (f[2], -f[1]))] if snapshots else []
    reached = plan[0][2] if plan else 0
    while True:
        candidates = [f for f in files if f[0] != SNAPSHOT_LEVEL and f[1] <= reached + 1 and f[2] > reached]
        if not candidates:
            return [f[3] for f in plan], (None if reached >= newest else reached)
        best = max(candidates, key=lambda f: (f[2], -f[1], f[0]))
        plan.append(best)
        reached = best[2]


def chain_gap(keys: list[str]) -> int | None:
    """None when the files lead from TXID 1 to the newest TXID they hold along Litestream's restore
    plan; else the TXID after which nothing follows."""
    return restore_plan(keys)[1]


def _download(target, keys: list[str], held: dict[str, Path], sealed: dict[str, tuple[int | None, str]], into: Path,
              download: Path, description: str, encryption_key: bytes, show_progress: bool) -> None:
    total = sum(info.size for info in map(target.stat, keys) if info) if show_progress else None
    progress = Progress(f"replica: download {len(keys)} files", total, enabled=show_progress)
    for key in keys:
        level, name = key.split("/")
        plain = into / "ltx" / level / (name[:-len(SEALED_SUFFIX)] + ".ltx")
        plain.parent.mkdir(parents=True, exist_ok=True)
        opening = plain.with_name(plain.name + ".opening")  # a follower's Litestream lists only whole files
        with downloading(target, key, download, progress) as reader:  # unsealed as it arrives
            hashed = _HashingReader(reader)
            try:
                unseal(hashed, opening, encryption_key, f"the replica file {key}", key)
            except CorruptCopy as e:
                raise BackupError(f"{e.message} The replica {description} was sealed with another backup key "
                                  "(keys/backup.key must be the one of the box that made it), or the file "
                                  "was damaged. Nothing was changed.") from None
            hashed.drain()
        sealed[key] = (format_of(hashed.head), hashed.sha.hexdigest())
        captured = ltx_time(opening)
        os.utime(opening, (captured, captured))  # restore --as-of goes by the file times
        os.replace(opening, plain)
        held[key] = plain
    progress.finish()
