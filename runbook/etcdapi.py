"""The few etcd API calls the runbook makes, one member at a time (blocking: call them
from a thread). Each opens its own client with its own timeout, apart from any polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from blackstart.checks.etcd_client import etcd_client
from blackstart.checks.model import Cluster, Member
from blackstart.checks.requests import alarm_name


@dataclass
class MemberHealth:
    name: str
    ok: bool
    member_id: int | None = None
    leader: int | None = None
    revision: int | None = None
    raft_index: int | None = None
    error: str | None = None

    @property
    def is_leader(self) -> bool:
        return self.ok and self.leader is not None and self.leader == self.member_id


@contextmanager
def member_client(cluster: Cluster, member: Member, timeout: float = 5.0) -> Iterator[Any]:
    u = urlsplit(member.client_url)
    client = etcd_client(u.hostname or "127.0.0.1", u.port or 2379, timeout=timeout,
                         tls=cluster.client if u.scheme == "https" else None)
    try:
        yield client
    finally:
        client.close()


def member_health(cluster: Cluster, member: Member, timeout: float = 3.0) -> MemberHealth:
    """Status plus one linearizable read: what `etcdctl endpoint health` means by healthy."""
    from etcd3 import etcdrpc

    try:
        with member_client(cluster, member, timeout) as c:
            st = c.maintenancestub.Status(etcdrpc.StatusRequest(), timeout)
            c.get("health")  # linearizable: needs a leader and quorum
            return MemberHealth(member.name, True, st.header.member_id, st.leader,
                                st.header.revision, st.raftIndex)
    except Exception as exc:  # grpc and etcd3 raise many types; all mean "not healthy"
        return MemberHealth(member.name, False, error=_short(exc))


def cluster_health(cluster: Cluster, timeout: float = 3.0) -> list[MemberHealth]:
    """Every member at once (one thread each): a dead member costs its timeout once, not
    once per member after it."""
    if len(cluster.members) <= 1:
        return [member_health(cluster, m, timeout) for m in cluster.members]
    with ThreadPoolExecutor(max_workers=len(cluster.members),
                            thread_name_prefix="etcd-health") as pool:
        return list(pool.map(lambda m: member_health(cluster, m, timeout), cluster.members))


def quorum_problems(health: list[MemberHealth]) -> list[str]:
    """Empty when every member is healthy and they agree on exactly one leader."""
    problems = [f"{h.name}: {h.error or 'not healthy'}" for h in health if not h.ok]
    leaders = {h.leader for h in health if h.ok}
    if len(leaders) > 1:
        problems.append(f"members disagree on the leader: {sorted(x or 0 for x in leaders)}")
    if health and not problems and sum(h.is_leader for h in health) != 1:
        problems.append(f"expected exactly one leader, found {sum(h.is_leader for h in health)}")
    if 0 in leaders:
        problems.append("no leader elected")
    return problems


POLL_TIMEOUT = 0.5  # per health call while waiting: a member not up yet must not stall it
POLL_GAP = 0.05  # between one member's calls; each member is polled on its own


def wait_healthy(cluster: Cluster, timeout: float, interval: float = POLL_GAP) -> list[str]:
    """Until quorum_problems is empty or the time is up; returns the last problems.

    Each member is polled on its own thread with a short timeout and its latest answer
    kept, so the wait ends one member round trip (plus `interval`) after the cluster
    became healthy, however slow a member that is still starting answers."""
    deadline = time.monotonic() + timeout
    latest: dict[str, MemberHealth] = {}
    changed = threading.Condition()
    stop = threading.Event()

    def poll(m: Member) -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            h = member_health(cluster, m, min(POLL_TIMEOUT, max(0.05, deadline - time.monotonic())))
            with changed:
                latest[m.name] = h
                changed.notify_all()
            stop.wait(interval)

    threads = [threading.Thread(target=poll, args=(m,), daemon=True, name=f"wait-{m.name}")
               for m in cluster.members]
    for t in threads:
        t.start()
    try:
        return _until_healthy(cluster, latest, changed, deadline)
    finally:
        stop.set()


def _until_healthy(cluster: Cluster, latest: dict[str, MemberHealth],
                   changed: threading.Condition, deadline: float) -> list[str]:
    problems = ["not checked"]
    with changed:
        while True:
            if len(latest) == len(cluster.members):
                problems = quorum_problems([latest[m.name] for m in cluster.members])
                if not problems:
                    return []
            left = deadline - time.monotonic()
            if left <= 0:
                return problems
            changed.wait(left)


def hashkv(cluster: Cluster, member: Member, revision: int = 0, timeout: float = 10.0
           ) -> tuple[int, int, int]:
    """(hash, compact_revision, header revision), as `etcdctl endpoint hashkv` shows."""
    from etcd3 import etcdrpc

    with member_client(cluster, member, timeout) as c:
        r = c.maintenancestub.HashKV(etcdrpc.HashKVRequest(revision=revision), timeout)
        return int(r.hash), int(r.compact_revision), int(r.header.revision)


def save_snapshot(cluster: Cluster, member: Member, fh: BinaryIO, timeout: float = 600.0
                  ) -> None:
    """Stream the member's db into fh; the server appends the sha256 trailer itself."""
    with member_client(cluster, member, timeout) as c:
        c.snapshot(fh)


def defragment(cluster: Cluster, member: Member, timeout: float = 300.0) -> None:
    with member_client(cluster, member, timeout) as c:
        c.defragment()


def disarm_alarms(cluster: Cluster, member: Member, timeout: float = 10.0,
                  only: str | None = None) -> list[str]:
    """Deactivate the active alarms (`only` one type: NOSPACE or CORRUPT), each by its own
    member and type, as `etcdctl alarm disarm` does. Returns what was deactivated."""
    from etcd3 import etcdrpc

    with member_client(cluster, member, timeout) as c:
        get = etcdrpc.AlarmRequest(action=etcdrpc.AlarmRequest.GET)
        active = [a for a in c.maintenancestub.Alarm(get, timeout).alarms
                  if only is None or alarm_name(a.alarm) == only]
        for a in active:
            req = etcdrpc.AlarmRequest(action=etcdrpc.AlarmRequest.DEACTIVATE,
                                       memberID=a.memberID, alarm=a.alarm)
            c.maintenancestub.Alarm(req, timeout)
        return [f"{alarm_name(a.alarm)}@{a.memberID:x}" for a in active]


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    details = getattr(exc, "details", None)
    if callable(details):
        try:
            text = str(details()) or text
        except Exception:  # a grpc error without details: keep the text we have
            pass
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _healthy_other(cluster: Cluster, exclude: str, timeout: float) -> Member:
    for m in cluster.members:
        if m.name != exclude and member_health(cluster, m, timeout).ok:
            return m
    raise RuntimeError(f"no healthy member other than {exclude} answers")


def member_remove(cluster: Cluster, name: str, peer_url: str, timeout: float = 10.0) -> str:
    """Remove the member with this peer URL (or name) through a healthy other member.
    Returns what was done; removing one that is not in the membership is a no-op."""
    via = _healthy_other(cluster, name, 3.0)
    with member_client(cluster, via, timeout) as c:
        for m in c.members:
            if peer_url in list(m.peer_urls) or m.name == name:
                c.remove_member(m.id)
                return f"removed {name} (id {m.id:x}) through {via.name}"
    return f"{name} ({peer_url}) is not in the membership: nothing to remove"


def member_add(cluster: Cluster, name: str, peer_url: str, timeout: float = 10.0) -> str:
    """Add a member with this peer URL through a healthy other member (no-op when a member
    with that peer URL is already there, e.g. on resume)."""
    via = _healthy_other(cluster, name, 3.0)
    with member_client(cluster, via, timeout) as c:
        for m in c.members:
            if peer_url in list(m.peer_urls):
                return f"{peer_url} is already a member (id {m.id:x})"
        added = c.add_member([peer_url])
        return f"added {name} at {peer_url} (id {added.id:x}) through {via.name}"


def healthy_quorum(cluster: Cluster, exclude: tuple[str, ...] = ()) -> list[str]:
    """Problems ([] = none): a quorum of the members not excluded is healthy, one leader."""
    health = [h for h in cluster_health(cluster, 2.0) if h.name not in exclude]
    ok = [h for h in health if h.ok]
    if len(ok) < cluster.quorum:
        return [f"{len(ok)} healthy of {', '.join(h.name for h in health)}; quorum needs "
                f"{cluster.quorum}"] + [f"{h.name}: {h.error}" for h in health if not h.ok]
    leaders = {h.leader for h in ok}
    return [] if len(leaders) == 1 and 0 not in leaders else [f"leaders seen: {leaders}"]


def alone_problems(cluster: Cluster, name: str) -> list[str]:
    """Problems ([] = none): `name` is healthy, leads itself, and is the only member."""
    m = cluster.member(name)
    h = member_health(cluster, m, 2.0)
    if not h.ok:
        return [f"{name}: {h.error or 'not healthy'}"]
    if not h.is_leader:
        return [f"{name} is not its own leader (leader {h.leader or 0:x})"]
    try:
        with member_client(cluster, m, 3.0) as c:
            peers = [str(x.name or x.id) for x in c.members]
    except Exception as exc:  # grpc/etcd3 errors: named, the wait tries again
        return [f"{name}: member list: {_short(exc)}"]
    return [] if len(peers) == 1 else [f"{name} still lists {len(peers)} members: {peers}"]


def caught_up(cluster: Cluster, name: str, leader_index: int) -> bool:
    h = member_health(cluster, cluster.member(name), 2.0)
    return h.ok and (h.raft_index or 0) >= leader_index


def leader_index(cluster: Cluster, exclude: str) -> int | None:
    for h in cluster_health(cluster, 2.0):
        if h.name != exclude and h.is_leader:
            return h.raft_index
    return None
