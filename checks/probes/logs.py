"""Probe: the tail of every API-server/etcd log source, each line classified.

Sources come from `ctx.cluster.logs`: CRI files under /var/log/pods (a glob), plain files,
or a journald unit. Files are read from the END only (a window that grows until it holds
enough lines or reaches the start of the file, capped), never whole: a 1 GB log costs a
few MiB of reads.
"""

from __future__ import annotations

import asyncio
import fnmatch
import posixpath

from blackstart.checks.formats.loglines import (
    Entry,
    classify,
    parse_journald_json,
    parse_lines,
    tail_lines,
)
from blackstart.checks.formats.logrecord import Level, line_level
from blackstart.checks.model import Cluster, LogSource, Service
from blackstart.checks.nodes import DirEntry, NodeError, NodeReader
from blackstart.checks.probe_results import LogLine
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.severity import Severity

FIRST_WINDOW = 256 * 1024
MAX_WINDOW = 16 * 1024 * 1024  # stop growing here: enough for ~50,000 typical klog lines
MAX_FILES = 64  # a glob matching more is a mistake in the inventory; take the newest
_GLOB_CHARS = "*?["


async def probe_logs(ctx: ProbeContext, max_lines: int = 2000) -> list[LogLine]:
    """The last `max_lines` lines of each log source, oldest first within a source.

    A source that cannot be read (node without access, no file matching the glob, file
    unreadable, journalctl failing) gives ONE LogLine instead of raising: its text starts
    with `blackstart: cannot read ` and names the node, the path or unit and the reason;
    its signature is `log-unreadable` (severity warning). The TUI shows it in the log panel
    where the missing lines would be, so the operator sees at once which source is blind.
    """
    if max_lines <= 0:
        return []
    jobs = [_probe_source(ctx, src, max_lines) for src in log_sources(ctx.cluster)]
    out: list[LogLine] = []
    for lines in await asyncio.gather(*jobs):
        out.extend(lines)
    return out


APISERVER_POD_LOGS = "kube-system_kube-apiserver-*/kube-apiserver/*.log"
ETCD_POD_LOGS = "kube-system_etcd-*/etcd/*.log"


def log_sources(cluster: Cluster) -> list[LogSource]:
    """The inventory's log sources, plus each etcd member's own log where it names none:
    one source per component and node, so the panel can give each its own tab.

    etcd's log is found the way the member runs: a static pod writes it where the kubelet
    writes the apiserver's (the same /var/log/pods, under any test root the inventory
    used), a systemd unit writes it to the journal. A member started by a plain command
    has no log blackstart could know of: the inventory must name its file.
    """
    out = list(cluster.logs)
    have = {(s.node, s.component) for s in out}
    pods = {s.node: s.path for s in out if s.kind == "cri" and s.path
            and s.path.endswith(APISERVER_POD_LOGS)}
    for svc in cluster.services_named("etcd"):
        src = etcd_source(svc, pods.get(svc.node))
        if src is not None and (svc.node, "etcd") not in have:
            out.append(src)
            have.add((svc.node, "etcd"))
    return out


def etcd_source(svc: Service, apiserver_pods: str | None) -> LogSource | None:
    """Where one etcd service logs, from how it runs (see `log_sources`)."""
    if svc.kind == "systemd":
        return LogSource(svc.node, "journald", unit=svc.unit or "etcd", component="etcd")
    if svc.kind == "static-pod":
        root = (apiserver_pods or "/var/log/pods/" + APISERVER_POD_LOGS)[
            : -len(APISERVER_POD_LOGS)]
        return LogSource(svc.node, "cri", path=root + ETCD_POD_LOGS, component="etcd")
    return None


def source_name(src: LogSource) -> str:
    """What LogLine.source says: the component (kube-apiserver, etcd), as the TUI shows it
    next to the node; the path or unit is named in the text of an unreadable marker."""
    return src.component


async def _probe_source(ctx: ProbeContext, src: LogSource, max_lines: int) -> list[LogLine]:
    name = source_name(src)
    try:
        if not ctx.cluster.node(src.node).has_access:
            return [unreadable(src, "no access to the node (not this machine, no ssh)")]
        client = ctx.client(src.node)
        entries = await asyncio.wait_for(_read_source(client, src, max_lines, ctx.deadline),
                                         ctx.deadline * 3)
    except KeyError as exc:
        return [unreadable(src, str(exc.args[0]))]
    except NodeError as exc:
        return [unreadable(src, exc.message)]
    except TimeoutError:
        return [unreadable(src, f"no answer within {ctx.deadline * 3:g}s")]
    return [to_logline(src.node, name, e) for e in entries[-max_lines:]]


def to_logline(node: str, source: str, entry: Entry) -> LogLine:
    sig = classify(entry.text)
    level = line_level(entry.text)
    label = level.label if level is not Level.UNKNOWN else ""
    if sig is None:
        return LogLine(node, source, entry.ts, entry.text, level=label)
    return LogLine(node, source, entry.ts, entry.text, sig.id, sig.severity, label)


def unreadable(src: LogSource, reason: str) -> LogLine:
    what = f"unit {src.unit or src.component}" if src.kind == "journald" else src.path
    text = f"blackstart: cannot read {src.kind} log {what} on node {src.node}: {reason}"
    return LogLine(src.node, source_name(src), None, text, "log-unreadable", Severity.WARNING)


async def _read_source(client: NodeReader, src: LogSource, n: int,
                       timeout: float) -> list[Entry]:
    if src.kind == "journald":
        return await read_journald(client, src.unit or src.component, n, timeout)
    if not src.path:
        raise NodeError(client.name, "no path configured for this log source")
    files = await node_glob(client, src.path, timeout)
    if not files:
        glob = any(c in src.path for c in _GLOB_CHARS)
        raise NodeError(client.name, f"no file matches {src.path}" if glob else
                        f"{src.path}: no such file", "missing")
    return await read_files(client, files, src.kind, n, timeout)


# --------------------------------------------------------------------------- journald


async def read_journald(client: NodeReader, unit: str, n: int, timeout: float) -> list[Entry]:
    argv = ["journalctl", "-u", unit, "-o", "json", "-n", str(n), "--no-pager"]
    res = await client.run(argv, timeout=timeout)
    if not res.ok:
        err = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise NodeError(client.name, f"journalctl exited {res.exit_code}: "
                                     f"{err[-1] if err else 'no output'}")
    entries = (parse_journald_json(line) for line in res.text().splitlines())
    return [e for e in entries if e is not None]


# --------------------------------------------------------------------------- files


async def read_files(client: NodeReader, files: list[DirEntry], kind: str, n: int,
                     timeout: float) -> list[Entry]:
    """The last `n` entries over rotated files: newest file first until `n` are found."""
    chunks: list[list[Entry]] = []
    found = 0
    for f in reversed(files):  # `files` is oldest first
        entries = await read_entries(client, f.path, kind, n - found, timeout)
        chunks.append(entries)
        found += len(entries)
        if found >= n:
            break
    return [e for chunk in reversed(chunks) for e in chunk][-n:]


async def read_entries(client: NodeReader, path: str, kind: str, n: int,
                       timeout: float) -> list[Entry]:
    """The last `n` entries of one file. CRI fragments join into fewer entries than
    physical lines, so ask for a few more lines when the first tail came up short."""
    want = n + n // 8 + 8  # a margin for joined fragments, so one read usually suffices
    for _ in range(4):  # bounded: each round asks for twice as many lines
        lines = await read_tail(client, path, want, timeout)
        entries = parse_lines(lines, kind)
        if len(entries) >= n or len(lines) < want:
            break
        want *= 2
    return entries[-n:]


async def read_tail(client: NodeReader, path: str, n: int, timeout: float, *,
                    first: int = FIRST_WINDOW, cap: int = MAX_WINDOW) -> list[str]:
    """The last `n` lines of a file on a node, reading backwards in a growing window."""
    st = await client.stat(path, timeout=timeout)
    if st is None:
        raise NodeError(client.name, f"{path}: no such file", "missing")
    size, start, data, window = st.size, st.size, b"", first
    while start > 0 and data.count(b"\n") <= n and len(data) < cap:
        new_start = max(0, start - window)
        data = await client.read_file(path, max_bytes=start - new_start, offset=new_start,
                                      timeout=timeout) + data
        start, window = new_start, min(window * 2, cap)
    lines = tail_lines(data, n, offset=start)
    if not lines and size > 0 and start > 0:
        lines = [f"… [last line longer than {len(data)} bytes, cut]"]
    return lines


async def node_glob(client: NodeReader, pattern: str, timeout: float) -> list[DirEntry]:
    """Files matching `pattern` on the node (`*`, `?`, `[..]` in any part), oldest first.

    Compressed rotations (`*.gz`) are skipped; the live `N.log` sorts after its rotated
    siblings when their mtimes tie, so it is the newest.
    """
    parts = [p for p in pattern.split("/") if p]
    if not parts:
        return []
    dirs = ["/" if pattern.startswith("/") else "."]
    for part in parts[:-1]:
        dirs = [e.path for e in await _matches(client, dirs, part, timeout) if e.is_dir]
    files = [e for e in await _matches(client, dirs, parts[-1], timeout)
             if not e.is_dir and not e.name.endswith(".gz")]
    files.sort(key=lambda d: (d.mtime, not _is_rotated(d.name), d.name))
    return files[-MAX_FILES:]


def _is_rotated(name: str) -> bool:
    return not name.endswith(".log")


async def _matches(client: NodeReader, parents: list[str], part: str,
                   timeout: float) -> list[DirEntry]:
    """Entries named `part` (a literal or a pattern) in each parent directory."""
    out: list[DirEntry] = []
    for base in parents[:MAX_FILES]:
        if not any(c in part for c in _GLOB_CHARS):
            st = await client.stat(posixpath.join(base, part), timeout=timeout)
            if st is not None:
                out.append(DirEntry(part, st.path, st.size, st.mtime, st.is_dir))
            continue
        try:
            entries = await client.list_dir(base, timeout=timeout)
        except NodeError:
            continue  # one unreadable branch of the glob does not hide the others
        out.extend(e for e in entries if fnmatch.fnmatchcase(e.name, part))
    return out
