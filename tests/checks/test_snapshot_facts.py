"""Unknown is not corrupt, for backup dirs too: a backup dir that could not be listed (a
timeout under load, a dropped SSH session) or a node without access is "unknown", a dir that
is not there is "missing", and neither is ever read as an invalid backup."""

from __future__ import annotations

from blackstart.checks.model import Cluster, Node, SSHTarget
from blackstart.checks.nodes import DirEntry, NodeError, NodeReader
from blackstart.checks.probe_results import SnapshotInfo
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.snapshots import probe_snapshots
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.reasoning.report import assemble_report


class _Lister(NodeReader):
    def __init__(self, node: Node, kind: str) -> None:
        super().__init__(node)
        self.kind = kind

    async def list_dir(self, path: str, timeout: float = 5.0) -> list[DirEntry]:
        raise NodeError(self.name, f"list {path}: no answer within 5s"
                        if self.kind == "timeout" else f"{path}: no such directory", self.kind)


def _cluster() -> Cluster:
    def node(name: str, access: bool = True) -> Node:
        return Node(name=name, backup_dirs=("/backup/etcd",), has_access=access,
                    ssh=SSHTarget(host="127.0.0.1") if access else None)
    return Cluster(name="c", nodes=(node("m1"), node("m2"), node("m3", False)), members=())


async def test_unlistable_dir_is_unknown_missing_dir_is_missing() -> None:
    cluster = _cluster()
    ctx = ProbeContext(cluster=cluster, deadline=1.0)
    ctx.clients.update({"m1": _Lister(cluster.node("m1"), "timeout"),
                        "m2": _Lister(cluster.node("m2"), "missing")})
    got = {s.node: s for s in await probe_snapshots(ctx)}
    assert got["m1"].state == "unknown" and "no answer" in (got["m1"].error or "")
    assert got["m2"].state == "missing"
    assert got["m3"].state == "unknown"


def test_unlisted_and_missing_dirs_are_never_invalid_backups() -> None:
    cluster = _cluster()
    snaps = [SnapshotInfo("/backup/etcd", "m1", error="m1: list /backup/etcd: no answer",
                          fact="unknown"),
             SnapshotInfo("/backup/etcd", "m2", error="/backup/etcd: no such directory",
                          fact="missing")]
    report = assemble_report(cluster, {"snapshots": snaps}, 1.0)
    codes = {f.code for f in diagnose(report, 1.0)[0]}
    assert not codes & {"backups-all-invalid", "backup-newest-invalid"}, codes
    assert "backups-unverified" in codes, codes


def test_check_text_says_not_read_and_missing_never_invalid() -> None:
    from blackstart.checks.reasoning.report_text import render

    snaps = [SnapshotInfo("/backup/etcd", "m1", error="no answer", fact="unknown"),
             SnapshotInfo("/backup/etcd", "m2", error="no such directory", fact="missing"),
             SnapshotInfo("/backup/etcd/a.db", "m2", error="bad magic")]
    text = render(assemble_report(_cluster(), {"snapshots": snaps}, 1.0))
    rows = [ln for ln in text.splitlines() if ln.strip().startswith(("m1 ", "m2 "))
            and "/backup/etcd" in ln]
    assert any("m1" in r and "not read" in r for r in rows), rows
    assert any("m2" in r and "missing" in r and "INVALID" not in r for r in rows), rows
    assert any("a.db" in r and "INVALID" in r for r in rows), rows
