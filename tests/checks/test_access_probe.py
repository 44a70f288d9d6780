"""The access probe answers for every node, whatever one node's client does."""

from __future__ import annotations

from collections.abc import Sequence

from blackstart.checks.model import Cluster, Node, SSHTarget
from blackstart.checks.nodes import NodeError, NodeReader, RunResult
from blackstart.checks.probes.access import probe_access
from blackstart.checks.probes.context import ProbeContext


class _Client(NodeReader):
    """A node client that answers, refuses, or breaks in a way no client maps."""

    def __init__(self, node: Node, behaviour: str) -> None:
        super().__init__(node)
        self.behaviour = behaviour

    async def run(self, argv: Sequence[str], timeout: float = 5.0,
                  stdin: bytes | None = None) -> RunResult:
        if self.behaviour == "hostkey":
            raise NodeError(self.name, "host key not trusted by known_hosts", "hostkey")
        if self.behaviour == "surprise":
            raise RuntimeError("asyncssh internals said no")
        return RunResult(tuple(argv), 0, b"", b"", 0.0)


def _ctx(behaviours: dict[str, str]) -> ProbeContext:
    nodes = tuple(Node(name=n, ssh=SSHTarget(host="127.0.0.1")) for n in behaviours)
    ctx = ProbeContext(cluster=Cluster(name="c", nodes=nodes, members=()), deadline=1.0)
    ctx.clients.update({n.name: _Client(n, behaviours[n.name]) for n in nodes})
    return ctx


async def test_an_unmapped_exception_on_one_node_keeps_every_answer() -> None:
    got = {a.node: a for a in await probe_access(
        _ctx({"m1": "ok", "m2": "hostkey", "m3": "surprise"}))}
    assert set(got) == {"m1", "m2", "m3"}
    assert got["m1"].ok
    assert not got["m2"].ok and got["m2"].kind == "hostkey"
    assert not got["m3"].ok and "RuntimeError" in got["m3"].error
