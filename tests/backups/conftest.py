"""S3 fixtures: a real moto server on loopback (started here, stopped after) and the boto3
code path blackstart itself uses; plus a real etcd snapshot to copy around.

Credentials come from the environment (the standard AWS chain), pointed away from the
machine's own ~/.aws so a developer's profiles never leak into a test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "checks"))  # etcd_single

from etcd_single import sample  # noqa: E402
from labnet import missing  # noqa: E402
from s3helpers import HOST, S3Server  # noqa: E402


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def s3() -> Iterator[S3Server]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        missing("moto[server]")
        raise
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    srv = S3Server(f"http://{HOST}:{port}", server)
    # moto keeps its buckets in the test process, across servers: start from none
    urllib.request.urlopen(urllib.request.Request(f"{srv.endpoint}/moto-api/reset",
                                                  method="POST"), timeout=10).close()
    try:
        yield srv
    finally:
        srv.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_with_auth() -> Iterator[str]:
    """A moto_server process that checks every request's credentials (IAM auth on from
    the first request): any key the test did not create is refused, as a real store does."""
    exe = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    if exe is None:
        missing("moto_server")
        raise AssertionError
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen([exe, "-H", HOST, "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex((HOST, port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `etcdctl snapshot save` file (the shared etcd sample)."""
    return sample(tmp_path_factory).snapshot


