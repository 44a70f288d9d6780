"""Helpers (not fixtures) for runbook lab tests: the real CLI in a subprocess, and an
independent etcdctl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from labnet import missing  # one definition: tests/labnet.py

DEBIAN_ETCDCTL = "/usr/bin/etcdctl"


FAULTY_CLI = str(Path(__file__).with_name("faulty_cli.py"))


def cli(lab: Any, *args: str, env: dict[str, str] | None = None, timeout: float = 240,
        check: bool = True, config: str | None = None, hooks: tuple[str, ...] = ()
        ) -> subprocess.CompletedProcess[str]:
    """`blackstart ARGS -c <lab toml>` in its own process, as an operator runs it.

    `hooks`: faulty_cli.py options (e.g. ("--kill-after", "aside-etcd2")): the same CLI,
    started by a test-only script that injects those fault hooks."""
    entry = [FAULTY_CLI, *hooks, "--"] if hooks else ["-m", "blackstart"]
    argv = [sys.executable, *entry, *args, "-c", config or str(lab.inventory_path)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                       env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}\n--- stdout\n"
                             f"{r.stdout[-6000:]}\n--- stderr\n{r.stderr[-4000:]}")
    return r


def need_debian_etcdctl() -> None:
    if not os.path.exists(DEBIAN_ETCDCTL):
        missing("Debian etcd-client (/usr/bin/etcdctl)")


def etcdctl(lab: Any, *args: str, member: str | None = None) -> subprocess.CompletedProcess[str]:
    """The independent Debian etcdctl (3.4) with the healthcheck-client cert."""
    env = {**os.environ, **lab.etcdctl_env(member)}
    return subprocess.run([DEBIAN_ETCDCTL, *args], capture_output=True, text=True,
                          timeout=60, check=False, env=env)


def keys(lab: Any, prefix: str) -> list[str]:
    r = etcdctl(lab, "get", "--prefix", "--keys-only", prefix)
    assert r.returncode == 0, r.stderr
    return [k for k in r.stdout.splitlines() if k.strip()]


def put_keys(lab: Any, prefix: str, n: int) -> None:
    c = lab.client()
    try:
        for i in range(n):
            c.put(f"{prefix}{i:03d}", f"v{i}")
    finally:
        c.close()


def hashkvs(lab: Any) -> dict[str, int]:
    r = etcdctl(lab, "endpoint", "hashkv", "-w", "json")
    assert r.returncode == 0, r.stderr
    return {e["Endpoint"]: e["HashKV"]["hash"] for e in json.loads(r.stdout)}


def healthy_count(lab: Any) -> int:
    r = etcdctl(lab, "endpoint", "health", "-w", "json")
    try:
        return sum(1 for e in json.loads(r.stdout) if e.get("health"))
    except ValueError:
        return r.stdout.count("is healthy")


def audit_lines(lab: Any) -> list[dict[str, Any]]:
    p = Path(lab.dir) / "state" / "audit.jsonl"
    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()]


def journals(lab: Any) -> list[dict[str, Any]]:
    d = Path(lab.dir) / "state" / "journal"
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))]


def wait_replicated(lab: Any, timeout: float = 30.0) -> None:
    """Until every member reports the same revision and raft index, then a second more
    (a follower learns the commit index from the next heartbeat): no member is fresher
    than another when a fault comes next."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        r = etcdctl(lab, "endpoint", "status", "-w", "json")
        seen = {(e["Status"]["header"]["revision"], e["Status"]["raftIndex"])
                for e in json.loads(r.stdout or "[]")} if r.returncode == 0 else set()
        if len(seen) == 1:
            time.sleep(1.0)
            return
        assert time.monotonic() < deadline, f"members never agreed: {seen or r.stderr}"
        time.sleep(0.2)


def hashkvs_agreeing(lab: Any, timeout: float = 15.0) -> dict[str, int]:
    """hashkv of every member once they agree (a member that just caught up may still be
    applying the last entries: its latest revision lags a moment), else the last seen."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = hashkvs(lab)
        if len(set(got.values())) == 1 or time.monotonic() >= deadline:
            return got
        time.sleep(0.5)
