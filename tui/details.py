"""What Enter on a row shows: every fact the report holds about that one thing, uncut.

Pure: a `Report` and the row's key in, a `Detail` out (title, labelled lines and the text
`y` copies). Node data stays data: the screen renders each value with `Text`, never as
markup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.probe_results import CertInfo, LogLine, MemberState, RestoreSource
from blackstart.checks.severity import Severity


@dataclass(frozen=True)
class Detail:
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    copy_text: str = ""  # what `y` copies: a command, a path or the finding itself

    def as_text(self) -> str:
        width = max((len(k) for k, _ in self.lines), default=0)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in self.lines)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _n(v: object) -> str:
    return "-" if v is None or v == "" else str(v)


def member_detail(report: Report, name: str, node: str | None = None) -> Detail:
    m = next((x for x in report.members if x.name == name), None)
    if m is None:
        return Detail(f"Member {name}", [("state", "not in the last report")])
    lines = _member_lines(m)
    lines += [(f"wal {w.path}", f"{w.state} {w.detail}".strip())
              for w in report.wal if w.member == name]
    nodes = {w.node for w in report.wal if w.member == name}  # one member per node
    lines += [(f"db {d.node}:{d.path}", _db_state(d.valid, d.revision, d.error))
              for d in report.member_dbs if d.node in nodes]
    lines += [(f"cert {c.role}", f"{c.path}: {_cert_state(c)}")
              for c in report.certificates if c.member == name]
    lines += [(f"process {p.name}", _process(p.pid, p.running, p.started, p.error))
              for p in report.processes if p.member == name]
    lines += [(f"finding {f.code}", f.seen) for f in report.findings if name in f.subject]
    lines += recent_log_lines(report, node)
    return Detail(f"Member {name}", lines, copy_text=m.error or f"{m.name} {m.endpoint}")


def _member_lines(m: MemberState) -> list[tuple[str, str]]:
    return [("endpoint", m.endpoint), ("health", "healthy" if m.healthy else
             _n(m.error_class)), ("last error", _n(m.error)), ("certificate at fault",
             _n(m.tls_fault)), ("member id", _n(m.member_id)), ("leader", "yes" if m.leader
             else _n(m.leader_id)), ("raft term / index", f"{_n(m.raft_term)} / "
             f"{_n(m.raft_index)}"), ("revision", _n(m.revision)), ("db size",
             f"{_n(m.db_size)} B (in use {_n(m.db_size_in_use)} B)"), ("version",
             _n(m.version)), ("alarms", ", ".join(m.alarms) or "-")]


def _db_state(valid: bool, revision: int | None, error: str | None) -> str:
    return f"valid, revision {revision}" if valid else f"not usable: {_n(error)}"


def _process(pid: int | None, running: bool, started: float | None, error: str | None) -> str:
    if error:
        return error
    return f"pid {pid}, started {_when(started)}" if running else "not running"


def _cert_state(c: CertInfo) -> str:
    if c.error:
        return c.error
    left = "-" if c.days_left is None else f"{c.days_left:.1f} days left"
    return "; ".join([left, *c.problems]) if c.problems else left


def cert_detail(report: Report, node: str, path: str) -> Detail:
    c = next((x for x in report.certificates if x.node == node and x.path == path), None)
    if c is None:
        return Detail(f"Certificate {path}", [("state", "not in the last report")])
    lines = [("file", c.path), ("node", c.node), ("role", c.role), ("member", _n(c.member)),
             ("subject", _n(c.subject)), ("issuer", _n(c.issuer)),
             ("not before", _when(c.not_before)), ("not after", _when(c.not_after)),
             ("state", _cert_state(c)), ("SANs", ", ".join(c.sans) or "-")]
    lines += [(k, v) for k, v in sorted(c.explain.items())]
    return Detail(f"Certificate {c.role} on {c.node}", lines, copy_text=c.path)


def source_detail(report: Report, node: str, path: str) -> Detail:
    s = next((x for x in report.restore_sources if x.node == node and x.path == path), None)
    if s is None:
        return _snapshot_only(report, node, path)
    lines = [("where", f"{s.node}:{s.path}"), ("kind", s.kind), ("member", _n(s.member)),
             ("verified", "yes" if s.valid else "no"), ("revision", _n(s.revision)),
             ("loses", _loss(s)), ("recommended", "yes" if s.recommended else "no"),
             ("why", _n(s.reason))]
    return Detail(f"Restore source on {s.node}", lines, copy_text=f"{s.node}:{s.path}")


def _loss(s: RestoreSource) -> str:
    if s.behind_revisions is None:
        return "unknown"
    return f"{s.behind_revisions} revisions" + (f" ({s.window})" if s.window else "")


def _snapshot_only(report: Report, node: str, path: str) -> Detail:
    snap = next((x for x in report.snapshots if x.node == node and x.path == path), None)
    if snap is None:
        return Detail(f"Snapshot {path}", [("state", "not in the last report")])
    lines = [("where", f"{snap.node}:{snap.path}"), ("size", f"{snap.size} B"),
             ("modified", _when(snap.mtime)),
             ("state", _db_state(snap.valid, snap.revision, snap.error)),
             ("keys", _n(snap.total_keys))]
    return Detail(f"Snapshot on {snap.node}", lines, copy_text=f"{snap.node}:{snap.path}")


def finding_detail(f: Finding) -> Detail:
    lines = [("severity", f.severity.label), ("code", f.code), ("about", f.subject),
             ("seen", f.seen), *[("evidence", e) for e in f.evidence],
             ("next step", _n(f.remedy))]
    return Detail(f"Finding {f.code}", lines, copy_text=f"{f.subject}: {f.seen} {f.remedy}")


RECENT_LOG_LINES = 6


def _tail(items: list[LogLine], n: int) -> list[LogLine]:
    return items[-n:] if n > 0 else []  # items[-0:] would be all of them


def recent_log_lines(report: Report, node: str | None, n: int = RECENT_LOG_LINES
                     ) -> list[tuple[str, str]]:
    """The member's node's last log lines (its etcd log first), labelled with their time."""
    if node is None:
        return []
    mine = [ln for ln in report.logs if ln.node == node]
    etcd = _tail([ln for ln in mine if ln.source == "etcd"], n)
    rest = _tail([ln for ln in mine if ln.source != "etcd"], n - len(etcd))
    return [(f"log {ln.source} {_n(ln.ts)}", ln.text[:500]) for ln in [*etcd, *rest]]


def step_log_lines(logs: list[LogLine], node: str, component: str, n: int = 8) -> list[str]:
    """The log lines a failed step on `node` most likely left: that component's on that
    node, the classified ones and the newest, in log order."""
    mine = [ln for ln in logs if ln.node == node and ln.source == component]
    hot = {id(ln) for ln in _tail([ln for ln in mine if ln.signature
                                   and ln.severity > Severity.INFO], n // 2)}
    rest = {id(ln) for ln in _tail([ln for ln in mine if id(ln) not in hot], n - len(hot))}
    return [f"{_n(ln.ts)} {ln.source}@{ln.node}: {ln.text[:400]}" for ln in mine
            if id(ln) in hot or id(ln) in rest]


def component_of(step_title: str, argv: tuple[str, ...]) -> str:
    """Which component's log explains a step: kube-apiserver for its manifests, else etcd."""
    words = " ".join([step_title, *argv]).lower()
    return "kube-apiserver" if "apiserver" in words else "etcd"
