"""A local read's deadline is the disk's, not the queue's: seen inside a loaded kubeadm
master, 'list /var/lib/etcd/member/snap: no answer within 5s' made master01's own data
unknown while every thread of the probe was busy."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from blackstart.checks.model import Node
from blackstart.checks.nodes import LocalNode, NodeError, in_thread


async def test_waiting_for_a_thread_does_not_count_but_a_slow_call_does(
        tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    busy = loop.run_in_executor(None, time.sleep, 1.0)  # the only thread, taken
    node = LocalNode(Node("here"))
    (tmp_path / "db").write_bytes(b"x")
    entries = await node.list_dir(str(tmp_path), timeout=0.3)  # queued ~1 s, runs in µs
    assert [e.name for e in entries] == ["db"]
    await busy
    with pytest.raises(NodeError) as err:
        await in_thread(lambda: time.sleep(0.8), 0.2, node, "stat /slow")
    assert err.value.kind == "timeout" and "stat /slow: no answer within 0.2s" in str(err.value)
