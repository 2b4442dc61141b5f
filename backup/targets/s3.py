"""An S3-compatible bucket with boto3: multipart uploads for large payloads, optional Object Lock.

With `object_lock_days` > 0 every object is written with COMPLIANCE retention, so nobody (not even
this box, if it is compromised) can delete or overwrite that version before its date.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from appliance import clock
from appliance.config import Settings

from ..errors import MissingObject, ObjectLocked, TargetUnavailable
from . import ObjectInfo, ProgressFn
from .local import local_write_failed, missing_remote

MIB = 1024 * 1024
PART_CONCURRENCY = 4  # parts of a streamed payload in flight at once (they cost no memory)
NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


class S3Target:
    kind = "s3"

    def __init__(self, target_settings, settings: Settings):
        self.name = target_settings.name
        self.medium = target_settings.medium
        self.offsite = target_settings.offsite
        self._cfg = target_settings
        self._secret_file = settings.path(target_settings.secret_access_key_file)
        self.bucket = target_settings.bucket
        self.prefix = target_settings.prefix.strip("/")
        self._client = None
        chunk = target_settings.multipart_chunk_mb * MIB
        self._transfer = TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk,
                                        max_concurrency=4, use_threads=True)

    def _s3(self):
        if self._client is None:
            try:
                secret = self._secret_file.read_text().strip()
            except OSError as e:
                raise TargetUnavailable(f"Target {self.name}: cannot read secret_access_key_file "
                                        f"{self._secret_file}: {e.strerror}.") from None
            cfg = self._cfg
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=cfg.endpoint or None, region_name=cfg.region,
                aws_access_key_id=cfg.access_key_id, aws_secret_access_key=secret,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                              request_checksum_calculation="when_required",
                              response_checksum_validation="when_required",
                              connect_timeout=cfg.timeout_seconds, read_timeout=cfg.timeout_seconds,
                              retries={"max_attempts": 2, "mode": "standard"}))
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, action: str, error: Exception) -> TargetUnavailable:
        if isinstance(error, ClientError):
            err = error.response.get("Error", {})
            reason = f"{err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": ")
        else:
            reason = str(error)
        return TargetUnavailable(f"Target {self.name}: cannot {action}: {reason}.")

    def _lock_args(self) -> dict:
        days = self._cfg.object_lock_days
        if days <= 0:
            return {}
        until = clock.now() + timedelta(days=days)
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}

    def put(self, source: Path, key: str, progress: ProgressFn | None = None) -> None:
        try:
            self._s3().upload_file(str(source), self.bucket, self._key(key), ExtraArgs=self._lock_args(),
                                   Config=self._transfer, Callback=progress)
        except (ClientError, BotoCoreError, OSError) as e:
            raise self._fail(f"upload {key}", e) from None

    def put_stream(self, source: BinaryIO, key: str, progress: ProgressFn | None = None) -> None:
        """A payload being written (stream.TailReader): each `multipart_chunk_mb` part is uploaded
        as soon as it is complete, read from the file (no part is held in memory), up to
        PART_CONCURRENCY at once; a payload smaller than one part is one PUT once complete. Any
        failure, or an error from `source`, aborts the multipart upload: no object appears.
        Anything else (e.g. a manifest in a BytesIO) goes through upload_fileobj."""
        if not hasattr(source, "parts"):
            try:
                self._s3().upload_fileobj(source, self.bucket, self._key(key), ExtraArgs=self._lock_args(),
                                          Config=self._transfer, Callback=progress)
            except (ClientError, BotoCoreError, OSError) as e:
                raise self._fail(f"upload {key}", e) from None
            return
        try:
            self._put_parts(source, key, progress)
        except (ClientError, BotoCoreError, OSError) as e:
            raise self._fail(f"upload {key}", e) from None

    def _put_parts(self, source, key: str, progress: ProgressFn | None) -> None:
        s3, full, part_size = self._s3(), self._key(key), self._cfg.multipart_chunk_mb * MIB
        parts = source.parts(part_size)
        offset, length = next(parts)
        if length < part_size:  # the whole payload, smaller than one part
            s3.put_object(Bucket=self.bucket, Key=full, Body=source.window(offset, length),
                          ContentLength=length, **self._lock_args())
            if progress:
                progress(length)
            return
        upload_id = s3.create_multipart_upload(Bucket=self.bucket, Key=full, **self._lock_args())["UploadId"]

        failed = threading.Event()

        def send(number: int, offset: int, length: int) -> dict:
            try:
                answer = s3.upload_part(Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number,
                                        Body=source.window(offset, length), ContentLength=length)
            except BaseException:
                failed.set()
                raise
            if progress:
                progress(length)
            return {"PartNumber": number, "ETag": answer["ETag"]}

        try:
            with ThreadPoolExecutor(max_workers=PART_CONCURRENCY, thread_name_prefix=f"s3-{self.name}") as pool:
                sent: list[Future] = [pool.submit(send, 1, offset, length)]
                for number, (offset, length) in enumerate(parts, start=2):
                    if failed.is_set():
                        break  # a part failed: send no more, its error is raised below
                    sent.append(pool.submit(send, number, offset, length))
                done = [f.result() for f in sent]
            s3.complete_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id,
                                         MultipartUpload={"Parts": done})
        except BaseException:
            try:
                s3.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            except (ClientError, BotoCoreError):
                pass  # the bucket's lifecycle rule (or prune) removes an abandoned upload
            raise

    def get(self, key: str, dest: Path, progress: ProgressFn | None = None) -> None:
        """Ranged GETs in parallel, each written at its place in `dest`."""
        try:
            with self._downloading(key):
                self._s3().download_file(self.bucket, self._key(key), str(dest), Config=self._transfer,
                                         Callback=progress)
        except OSError as e:
            if not dest.parent.is_dir():  # the download's folder on this box went away
                raise local_write_failed(self.name, key, dest, FileNotFoundError(e.errno, e.strerror)) from None
            raise self._fail(f"download {key}", e) from None

    def get_stream(self, key: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        """Ranged GETs of one part each, `max_concurrency` in flight, written to `sink` in order.

        Not boto3's download_fileobj: with a sink that cannot seek it deadlocks on objects of many
        parts (s3transfer's in-order window waits on the very thread that schedules the parts; seen
        on a 1 GB payload). Each part is requested for the ETag the first answer named, so an object
        replaced mid-download fails instead of mixing two versions."""
        with self._downloading(key):
            s3, full = self._s3(), self._key(key)
            head = s3.head_object(Bucket=self.bucket, Key=full)
            size, etag, part = head["ContentLength"], head["ETag"], self._transfer.multipart_chunksize

            def fetch(start: int) -> bytes:
                answer = s3.get_object(Bucket=self.bucket, Key=full, IfMatch=etag,
                                       Range=f"bytes={start}-{min(start + part, size) - 1}")
                return answer["Body"].read()

            starts = iter(range(0, size, part))
            with ThreadPoolExecutor(max_workers=self._transfer.max_request_concurrency,
                                    thread_name_prefix=f"get-{self.name}") as pool:
                in_flight = deque(pool.submit(fetch, s) for s in islice(starts, self._transfer.max_request_concurrency))
                while in_flight:
                    data = in_flight.popleft().result()
                    if (start := next(starts, None)) is not None:
                        in_flight.append(pool.submit(fetch, start))
                    sink.write(data)
                    if progress:
                        progress(len(data))

    @contextmanager
    def _downloading(self, key: str) -> Iterator[None]:
        """A missing object is MissingObject; the server's or the connection's errors say so."""
        try:
            yield
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in NOT_FOUND:
                raise MissingObject(missing_remote(self.name, key)) from None
            raise self._fail(f"download {key}", e) from None
        except BotoCoreError as e:
            raise self._fail(f"download {key}", e) from None

    def list(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        keys = []
        try:
            for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                keys += [obj["Key"][len(start):] for obj in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as e:
            raise self._fail("list backups", e) from None
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Deletes every version: in a versioned bucket a plain delete only hides the data."""
        full = self._key(key)
        try:
            listing = self._s3().list_object_versions(Bucket=self.bucket, Prefix=full)
            versions = [v for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
                        if v["Key"] == full]
            for version in versions:
                self._s3().delete_object(Bucket=self.bucket, Key=full, VersionId=version["VersionId"])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "AccessDenied":
                raise ObjectLocked(f"Target {self.name}: {key} is under Object Lock retention.") from None
            raise self._fail(f"delete {key}", e) from None
        except BotoCoreError as e:
            raise self._fail(f"delete {key}", e) from None

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self._s3().head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise self._fail(f"stat {key}", e) from None
        except BotoCoreError as e:
            raise self._fail(f"stat {key}", e) from None
        return ObjectInfo(key, head["ContentLength"], _naive(head.get("LastModified")),
                          _naive(head.get("ObjectLockRetainUntilDate")))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None


def _naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value

