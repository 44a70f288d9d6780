"""Facts gathered from nodes before a plan is built: free disk, the restore tool and its
flags, file hashes. Parsing is pure; the I/O goes through `blackstart.checks.nodes` clients."""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from blackstart.checks.errors import BlackstartError
from blackstart.checks.model import Cluster, Node
from blackstart.checks.nodes import NodeReader
from blackstart.runbook.hooks import NO_HOOKS, Hooks


class PlanRefused(BlackstartError):
    """A refusal before any change (preflight, lock, confirmation): the one "refused"
    concept of the CLI, the TUI and the audit log. `reason` names the node or file."""

    lead = "refused, nothing was changed"
    exit_code = 2

    @property
    def reason(self) -> str:
        return str(self)


@dataclass
class RestoreTool:
    argv0: tuple[str, ...]  # e.g. ("etcdutl",) or ("env", "ETCDCTL_API=3", "etcdctl")
    name: str  # etcdutl | etcdctl
    version: str
    bump: bool  # supports --bump-revision / --mark-compacted


def parse_df_avail(text: str) -> int | None:
    """Available bytes from `df -P -B1 PATH` (the 4th column of the last line)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    cols = lines[-1].split()
    return int(cols[3]) if len(cols) >= 4 and cols[3].isdigit() else None


def parse_version(text: str) -> str | None:
    """'etcdutl version: 3.5.1' / 'etcdctl version: 3.4.23' -> '3.5.1'."""
    m = re.search(r"(?:etcdutl|etcdctl) version:\s*v?(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else None


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".")[:3])


def help_has_bump(help_text: str) -> bool:
    return "--bump-revision" in help_text and "--mark-compacted" in help_text


async def free_bytes(client: NodeReader, path: str, hooks: Hooks = NO_HOOKS) -> int:
    assumed = hooks.free_bytes(client.name, path)
    if assumed is not None:
        return assumed
    probe = path
    for _ in range(64):  # the data dir may not exist: walk up to a dir that does
        if await client.stat(probe) is not None:
            break
        probe = posixpath.dirname(probe.rstrip("/")) or "/"
    res = await client.run(["df", "-P", "-B1", probe], timeout=10)
    avail = parse_df_avail(res.text()) if res.ok else None
    if avail is None:
        raise PlanRefused(f"node {client.name}: cannot read free space at {probe} "
                          f"({res.stderr.decode('utf-8', 'replace').strip() or 'df failed'})")
    return avail


async def restore_tool(client: NodeReader, node: Node) -> RestoreTool:
    """etcdutl for 3.5+, etcdctl (ETCDCTL_API=3) for 3.4; bump support read from --help."""
    for name, argv0 in (("etcdutl", (node.etcdutl,)),
                        ("etcdctl", ("env", "ETCDCTL_API=3", node.etcdctl))):
        try:
            res = await client.run([*argv0, "version"], timeout=10)
        except Exception:  # noqa: BLE001 - a missing binary is the next candidate's turn
            continue
        version = parse_version(res.text()) if res.ok else None
        if version is None:
            continue
        if name == "etcdctl" and version_tuple(version) >= (3, 6):
            continue  # 3.6 etcdctl has no restore
        helps = await client.run([*argv0, "snapshot", "restore", "--help"], timeout=10)
        text = (helps.stdout + helps.stderr).decode("utf-8", "replace")
        return RestoreTool(argv0, name, version, help_has_bump(text))
    raise PlanRefused(f"node {client.name}: neither {node.etcdutl!r} nor {node.etcdctl!r} "
                      "runs here (`version`); set etcdutl/etcdctl for this node in the inventory")


async def remote_sha256(client: NodeReader, path: str) -> str | None:
    if await client.stat(path) is None:
        return None
    res = await client.run(["sha256sum", "--", path], timeout=300)
    return res.text().split()[0] if res.ok and res.text().strip() else None


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(8 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bump_amount(source_rev: int | None, newest_seen: int | None) -> int | None:
    """N for --bump-revision: the revisions the source is behind, plus a margin for writes
    we did not see (10 %, at least 1000). None when the source is not behind."""
    if source_rev is None or newest_seen is None or newest_seen <= source_rev:
        return None
    behind = newest_seen - source_rev
    return behind + max(1000, behind // 10)


# --------------------------------------------------------------------------- inventory

URL_SCHEMES = ("http", "https", "unix", "unixs")


def url_problem(where: str, url: str) -> str | None:
    """Why `url` cannot be dialled or advertised, or None. Pure."""
    from urllib.parse import urlsplit

    try:
        u = urlsplit(url)
        port = u.port
    except ValueError as exc:
        return f"{where} = {url!r}: {exc}"
    if u.scheme not in URL_SCHEMES:
        return f"{where} = {url!r}: scheme must be http or https"
    if not u.hostname:
        return f"{where} = {url!r}: no host"
    if port is None and u.scheme in ("http", "https"):
        return f"{where} = {url!r}: no port"
    return None


def inventory_problems(cluster: Cluster) -> list[str]:
    """Everything in the inventory a plan would trip over half-way, found up front:
    member URLs and ports, SSH ports, services and members naming unknown nodes."""
    out: list[str] = []
    nodes = {n.name for n in cluster.nodes}
    for i, m in enumerate(cluster.members):
        for key in ("client_url", "peer_url"):
            p = url_problem(f"members[{i}] ({m.name}).{key}", getattr(m, key))
            if p:
                out.append(p)
        if m.node not in nodes:
            out.append(f"members[{i}] ({m.name}).node = {m.node!r}: no [[nodes]] entry has "
                       "that name")
        if not m.data_dir.startswith("/") or posixpath.normpath(m.data_dir) == "/":
            out.append(f"members[{i}] ({m.name}).data_dir = {m.data_dir!r}: must be an "
                       "absolute path below /")
    for n in cluster.nodes:
        if n.ssh is not None and not 0 < int(n.ssh.port) < 65536:
            out.append(f"node {n.name}: ssh.port = {n.ssh.port}: must be 1..65535")
    for i, s in enumerate(cluster.services):
        if s.node not in nodes:
            out.append(f"services[{i}] ({s.name}).node = {s.node!r}: no [[nodes]] entry has "
                       "that name")
    if not cluster.state_dir.startswith("/"):
        out.append(f"state_dir = {cluster.state_dir!r}: must be an absolute path")
    return out


def refuse_bad_inventory(cluster: Cluster) -> None:
    problems = inventory_problems(cluster)
    if problems:
        raise PlanRefused("the inventory has problems a plan would hit half-way; fix them "
                          "first:\n  " + "\n  ".join(problems))
