"""Which etcd and control-plane processes run on each node, since when, on which ports.

Local nodes are read with psutil; remote ones with `ps` over the node's client. A process
is tied to its node and member by its own flags: etcd by `--name`, the lab's stand-ins and
anything else by `--node`, an apiserver by the member its `--etcd-servers` points at; when
only one node is local, every local process is that node's. A recent start time is how a
restart or a crash loop shows up (`recently_started`).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from blackstart.checks.formats.manifests import parse_flags, split_urls
from blackstart.checks.model import Cluster, Node
from blackstart.checks.nodes import NodeError
from blackstart.checks.probe_results import ProcessInfo
from blackstart.checks.probes.context import ProbeContext

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")
CONTROL_PLANE = COMPONENTS[1:4]
RECENT_START = 120.0  # seconds: a process younger than this was (re)started just now
PS_ARGV = ("ps", "-ww", "-eo", "pid=,etimes=,args=")


@dataclass(frozen=True)
class Proc:
    """One process as seen on a node."""

    pid: int
    argv: tuple[str, ...]
    started: float | None = None
    listening: tuple[str, ...] = ()


def recently_started(info: ProcessInfo, now: float, window: float = RECENT_START) -> bool:
    return info.started is not None and 0 <= now - info.started < window


def component_of(argv: Sequence[str]) -> str | None:
    """The component a command line runs: the binary's name, or for a python stand-in
    (the lab's) the component word in its argv next to a `--node` flag."""
    if not argv:
        return None
    base = os.path.basename(argv[0])
    if base in COMPONENTS:
        return base
    if base.startswith("python") and any(a == "--node" or a.startswith("--node=")
                                         for a in argv):
        return next((a for a in argv[1:] if a in COMPONENTS), None)
    return None


def owner(argv: Sequence[str], component: str, cluster: Cluster,
          candidates: Sequence[Node]) -> tuple[str | None, str | None]:
    """(node, member) a process belongs to, among `candidates` (the nodes it may be on).

    A process that names a node or member (`--node`, etcd's `--name`) belongs to that node
    if the cluster knows it, to no candidate if it is another known node (the lab runs every
    node on one machine), and if the name is unknown only to a candidate whose endpoints or
    paths it carries (another cluster's etcd1 on the same machine is not ours).
    """
    flags = parse_flags(argv[1:])
    names = {n.name for n in candidates}
    member = flags.get("name") if component == "etcd" else None
    claimed = _member_node(cluster, member) if member else flags.get("node")
    unknown = claimed is None if member else claimed not in {n.name for n in cluster.nodes}
    if unknown and (member or claimed):
        return _by_anchor(argv, cluster, candidates), member
    if claimed is not None:
        mine = claimed in names and not contradicts(flags, component, cluster, claimed, member)
        return (claimed if mine else None), member
    if component == "kube-apiserver":
        nodes = {m.node for m in cluster.members
                 if m.client_url in split_urls(flags.get("etcd-servers"))} & names
        if len(nodes) == 1:
            return nodes.pop(), None
    return (candidates[0].name, member) if len(candidates) == 1 else (None, member)


def contradicts(flags: dict[str, str], component: str, cluster: Cluster, node: str,
                member: str | None) -> bool:
    """True when the process's own endpoints say it is another instance of the same name
    (another lab's etcd1 on this machine): its client URLs, or an apiserver's etcd servers,
    miss every endpoint of this node's members. Without such flags, nothing contradicts."""
    if component == "etcd":
        urls = split_urls(flags.get("advertise-client-urls")) + split_urls(
            flags.get("listen-client-urls"))
        wanted = [m.client_url for m in cluster.members if m.name == member]
    elif component == "kube-apiserver":
        urls = split_urls(flags.get("etcd-servers"))
        wanted = [m.client_url for m in cluster.members if m.node == node]
    else:
        return False
    if not urls or not wanted:
        return False
    return not any(_same_endpoint(u, w) for u in urls for w in wanted)


def _same_endpoint(url: str, want: str) -> bool:
    a, b = urlsplit(url), urlsplit(want)
    if a.port != b.port:
        return False
    return a.hostname in (b.hostname, "0.0.0.0", "::") or (  # a listen-all address matches any host
        a.hostname in ("127.0.0.1", "localhost") and b.hostname in ("127.0.0.1", "localhost"))


def _by_anchor(argv: Sequence[str], cluster: Cluster, candidates: Sequence[Node]
               ) -> str | None:
    hits = [n.name for n in candidates if affinity(argv, anchors(cluster, n.name))]
    return hits[0] if len(hits) == 1 else None


def anchors(cluster: Cluster, node: str) -> list[str]:
    """Strings that only this node's own processes carry in their argv: its members'
    endpoints and data dirs, its certificate dirs, its log dirs."""
    out: list[str] = []
    for m in cluster.members:
        if m.node == node:
            out += [urlsplit(m.client_url).netloc, m.data_dir]
    out += [os.path.dirname(c.path) for c in cluster.certificates if c.node == node]
    out += [os.path.dirname(log.path.split("*", 1)[0]) for log in cluster.logs
            if log.node == node and log.path]
    return [a for a in out if a and a.strip("/")]


def affinity(argv: Sequence[str], marks: Sequence[str]) -> int:
    return sum(1 for a in marks if any(a in word for word in argv))


def prefer_anchored(cluster: Cluster, found: list[ProcessInfo]) -> list[ProcessInfo]:
    """Where several processes claim the same (node, component, member), keep those whose
    argv mentions the node's own paths or endpoints: another cluster's etcd1 on the same
    machine (a second lab, a test) is not ours. With no such hint, keep them all."""
    marks = {n.name: anchors(cluster, n.name) for n in cluster.nodes}
    score = {id(p): affinity(p.cmdline, marks.get(p.node, [])) for p in found}
    best: dict[tuple[str, str, str | None], int] = {}
    for p in found:
        key = (p.node, p.name, p.member)
        best[key] = max(best.get(key, 0), score[id(p)])
    return [p for p in found if score[id(p)] > 0 or best[(p.node, p.name, p.member)] == 0]


def _member_node(cluster: Cluster, member: str) -> str | None:
    return next((m.node for m in cluster.members if m.name == member), None)


def parse_ps(text: str, now: float) -> list[Proc]:
    """`ps -eo pid=,etimes=,args=` output → Procs (args split on blanks: ps joins them)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(\d+)\s+(.+)$", line)
        if m:
            out.append(Proc(int(m.group(1)), tuple(m.group(3).split()),
                            started=now - int(m.group(2))))
    return out


# --------------------------------------------------------------------------- the probe


async def probe_processes(ctx: ProbeContext) -> list[ProcessInfo]:
    """ProcessInfos for every node: what runs, and what is expected but does not."""
    cluster = ctx.cluster
    local = [n for n in cluster.nodes if n.is_local and n.has_access]
    jobs = [_local_procs(ctx, local)] + [_node_procs(ctx, n) for n in cluster.nodes
                                         if not n.is_local or not n.has_access]
    out: list[ProcessInfo] = []
    for batch in await asyncio.gather(*jobs):
        out.extend(batch)
    order = {n.name: i for i, n in enumerate(cluster.nodes)}
    return sorted(out, key=lambda p: (order.get(p.node, 99), _rank(p.name), p.member or ""))


def _rank(name: str) -> int:
    return COMPONENTS.index(name) if name in COMPONENTS else len(COMPONENTS)


async def _local_procs(ctx: ProbeContext, nodes: list[Node]) -> list[ProcessInfo]:
    if not nodes:
        return []
    try:
        procs = await asyncio.wait_for(asyncio.to_thread(scan_local), ctx.deadline)
    except (TimeoutError, OSError) as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else str(exc)
        return [_error(n.name, f"node {n.name}: cannot list local processes ({why})")
                for n in nodes]
    return _assign(ctx.cluster, nodes, procs)


async def _node_procs(ctx: ProbeContext, node: Node) -> list[ProcessInfo]:
    if not node.has_access:
        return [_error(node.name, f"node {node.name}: no access (not this machine and no ssh "
                                  "configured); its processes were not checked")]
    try:
        res = await asyncio.wait_for(ctx.client(node.name).run(PS_ARGV, timeout=ctx.deadline),
                                     ctx.deadline + 1)
    except (NodeError, TimeoutError) as exc:
        why = str(exc) or f"no answer within {ctx.deadline:g}s"
        return [_error(node.name, f"node {node.name}: cannot list processes ({why})")]
    if not res.ok:
        err = res.stderr.decode("utf-8", "replace").strip()[:200]
        return [_error(node.name, f"node {node.name}: ps failed ({res.exit_code}): {err}")]
    return _assign(ctx.cluster, [node], parse_ps(res.text(), ctx.now()))


def _error(node: str, text: str) -> ProcessInfo:
    return ProcessInfo(node=node, name="*", pid=None, running=False, error=text)


def _assign(cluster: Cluster, nodes: list[Node], procs: Iterable[Proc]) -> list[ProcessInfo]:
    """Found processes per node, plus a not-running entry for each expected one missing."""
    found: list[ProcessInfo] = []
    for p in procs:
        comp = component_of(p.argv)
        if comp is None:
            continue
        node, member = owner(p.argv, comp, cluster, nodes)
        if node is not None:
            found.append(ProcessInfo(node=node, name=comp, pid=p.pid, running=True,
                                     cmdline=list(p.argv), started=p.started,
                                     listening=list(p.listening), member=member))
    found = prefer_anchored(cluster, found)
    return found + _missing(cluster, nodes, found)


def _missing(cluster: Cluster, nodes: list[Node], found: list[ProcessInfo]
             ) -> list[ProcessInfo]:
    have = {(p.node, p.name, p.member if p.name == "etcd" else None) for p in found}
    out = []
    for node, comp, member in expected(cluster, nodes):
        if (node, comp, member) not in have:
            out.append(ProcessInfo(node=node, name=comp, pid=None, running=False,
                                   member=member))
    return out


def expected(cluster: Cluster, nodes: Sequence[Node]) -> list[tuple[str, str, str | None]]:
    """(node, component, member) that should run: etcd for each member on the node, the
    control plane where the inventory has a service for it, kubelet where static pods are."""
    out: list[tuple[str, str, str | None]] = []
    for node in nodes:
        out += [(node.name, "etcd", m.name) for m in cluster.members if m.node == node.name]
        services = [s for s in cluster.services if s.node == node.name]
        out += [(node.name, c, None) for c in CONTROL_PLANE
                if any(s.name == c for s in services)]
        if any(s.kind == "static-pod" for s in services):
            out.append((node.name, "kubelet", None))
    return out


# --------------------------------------------------------------------------- psutil


def scan_local() -> list[Proc]:
    """Every local process that is one of ours, with start time and listening ports."""
    import psutil

    out = []
    for proc in psutil.process_iter(["pid", "cmdline", "create_time"]):
        argv = proc.info.get("cmdline") or []
        if component_of(argv) is None:
            continue
        out.append(Proc(proc.pid, tuple(argv), proc.info.get("create_time"),
                        tuple(listening(proc))))
    return out


def listening(proc: object) -> list[str]:
    """`ip:port` the process listens on; [] when the OS will not tell (permissions)."""
    import psutil

    assert isinstance(proc, psutil.Process)
    get = getattr(proc, "net_connections", None) or proc.connections
    try:
        conns = get(kind="inet")
    except (psutil.Error, OSError):
        return []
    return sorted({f"{c.laddr.ip}:{c.laddr.port}" for c in conns
                   if c.status == psutil.CONN_LISTEN and c.laddr})
