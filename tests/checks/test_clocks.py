"""blackstart.checks.probes.clocks: skew of each node's clock against ours."""

from __future__ import annotations

import time

import pytest

from blackstart.checks.model import Cluster, Member, Node, SSHTarget
from blackstart.checks.nodes import LocalNode
from blackstart.checks.probes.clocks import SKEW_CRITICAL, probe_clocks, skew
from blackstart.checks.probes.context import ProbeContext

CLUSTER = Cluster("t", (Node("here"), Node("dark", has_access=False)),
                  (Member("m1", "here", "https://127.0.0.1:2379", "", ""),))


def test_skew_sign_and_rounding() -> None:
    assert skew(1000.0004, 1000.0) == 0.0
    assert skew(1100.0, 1000.0) == 100.0  # node ahead
    assert skew(0.0, 1_700_000_000.0) == -1_700_000_000.0  # RTC reset to 1970


async def test_local_node_has_no_skew_and_dark_node_is_named() -> None:
    infos = await probe_clocks(ProbeContext(CLUSTER, deadline=2))
    here, dark = infos
    assert here.error is None and here.skew is not None and abs(here.skew) < 0.5
    assert here.epoch is not None and abs(here.epoch - time.time()) < 5
    assert dark.epoch is None and dark.error is not None and "node dark" in dark.error


async def test_skew_is_against_our_clock() -> None:
    # Our clock an hour behind: the node looks an hour ahead, well past the critical mark.
    ctx = ProbeContext(CLUSTER, deadline=2, clock=lambda: time.time() - 3600)
    here = (await probe_clocks(ctx))[0]
    assert here.skew == pytest.approx(3600, abs=1)
    assert here.skew > SKEW_CRITICAL


async def test_remote_clock_through_a_real_date_command() -> None:
    """The SSH path reads `date +%s.%N`; here the same command runs through a real local
    client, so the parsing and timing of the remote path are exercised."""
    from blackstart.checks.nodes import SSHNode

    node = Node("r", ssh=SSHTarget(host="127.0.8.42"))  # never dialed: the client is local

    class DateOverLocal(LocalNode):
        now = SSHNode.now  # the remote implementation, running `date` via LocalNode.run

    ctx = ProbeContext(Cluster("t", (node,), ()), deadline=3)
    ctx.clients["r"] = DateOverLocal(node)
    [info] = await probe_clocks(ctx)
    assert info.error is None, info.error
    assert info.skew is not None and abs(info.skew) < 0.5
