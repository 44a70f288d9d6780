"""The seed's faults, injected for real into a running lab.

Each fault returns one sentence saying what it did. Faults on a member's files stop
that member first (and say so); a member that was running is started again afterwards
so it meets the fault the way a rebooted node would. What a fault overwrites is kept
under DIR/faults/ (changed bytes or the whole small file), never just lost.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from blackstart.lab import nodefaults, pki, procs, walfault
from blackstart.lab.errors import LabError
from blackstart.lab.layout import NodeLayout

if TYPE_CHECKING:
    from blackstart.lab.cluster import Lab
    from blackstart.lab.kubeadm import KubeadmLab

CERT_ROLES = {"server": "etcd-server", "peer": "etcd-peer", "client": "apiserver-etcd-client",
              "healthcheck-client": "etcd-healthcheck-client"}
STANDINS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _err(msg: str) -> Exception:
    return LabError(msg)


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")


def _keep(lab: Lab, name: str, record: dict[str, Any]) -> Path:
    d = lab.dir / "faults"
    d.mkdir(exist_ok=True)
    path = d / f"{_stamp()}-{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


# --------------------------------------------------------------------------- power cut


def _writer(lab: Lab, n: NodeLayout, stop: threading.Event, counts: list[int]) -> None:
    """Put keys in a loop until told to stop; errors are the point once power is cut."""
    try:
        c = lab.client(n.name, timeout=1.0)
    except Exception:  # noqa: BLE001 - a member already down just has no writer
        return
    i = 0
    while not stop.is_set() and i < 100_000:
        try:
            c.put(f"/registry/events/default/powercut-{n.name}-{i:06d}", b"k8s\x00{}")
            counts.append(1)
        except Exception:  # noqa: BLE001 - writes in flight fail when the member dies
            time.sleep(0.05)
        i += 1
    try:
        c.close()
    except Exception:  # noqa: BLE001
        pass


def power_cut(lab: Lab, member: str | None, cert: str) -> str:
    if lab.shape in ("kubeadm", "systemd"):
        return _power_cut_nodes(lab)
    stop = threading.Event()
    counts: list[int] = []
    threads = [threading.Thread(target=_writer, args=(lab, n, stop, counts), daemon=True)
               for n in lab.nodes]
    for t in threads:
        t.start()
    time.sleep(0.5)
    before = len(counts)
    files = [n.pidfile(s) for n in lab.nodes for s in ("etcd", *STANDINS)]
    killed = procs.signal_all(files, signal.SIGKILL)  # one sweep: as close to "at once" as we get
    stop.set()
    for t in threads:
        t.join(10)
    procs.wait_gone(files, 5.0)
    procs.wait_gone([n.logger_pidfile() for n in lab.nodes], 2.0)
    ssh = "; sshd left running so nodes stay reachable" if lab.ssh else ""
    return (f"power cut: SIGKILLed {len(killed)} processes (etcd members and control-plane "
            f"stand-ins) with writes in flight ({before} puts had succeeded){ssh}")


def _writes_during(lab: Lab, cut: Callable[[], list[int]]) -> tuple[list[int], int]:
    """Run `cut` while every member takes writes; (what cut returned, puts that succeeded)."""
    stop = threading.Event()
    counts: list[int] = []
    threads = [threading.Thread(target=_writer, args=(lab, n, stop, counts), daemon=True)
               for n in lab.nodes]
    for t in threads:
        t.start()
    time.sleep(0.5)
    before = len(counts)
    hit = cut()
    stop.set()
    for t in threads:
        t.join(10)
    return hit, before


def _power_cut_nodes(lab: Lab) -> str:
    # Only called for lab.shape == "kubeadm"; not imported, since kubeadm imports cluster,
    # which imports this module (that would be an import circle).
    nodes = cast("KubeadmLab", lab)
    killed, before = _writes_during(nodes, nodes.power_off)
    return (f"power cut: SIGKILLed PID 1 of {len(killed)} nodes, so the kernel killed every "
            f"process in them at once (kubelets, etcd and control-plane pods, sshd) with writes "
            f"in flight ({before} puts had succeeded); `lab up` is the power coming back")


# --------------------------------------------------------------------------- members


def _stop_if_running(lab: Lab, name: str) -> bool:
    if lab.running(name, "etcd") is None:
        return False
    lab.stop(name, "etcd")
    return True


def _restart_note(lab: Lab, name: str, was_running: bool) -> str:
    if not was_running:
        return f"{name} was not running; left stopped"
    lab.start(name, "etcd")
    state = lab.wait_started(name, 10.0)
    return f"stopped {name} first, then started it again: etcd {state}"


def stop_member(lab: Lab, member: str | None, cert: str) -> str:
    n = lab.node(member)
    was = _stop_if_running(lab, n.name)
    return f"{n.name}: etcd stopped" if was else f"{n.name}: etcd was not running"


def _redate(lab: Lab, member: str | None, cert: str, *, start: dt.datetime,
            end: dt.datetime, what: str) -> str:
    n = lab.node(member)
    if cert not in CERT_ROLES:
        raise _err(f"--cert {cert!r}: one of {', '.join(CERT_ROLES)}")
    base = pki.pki_paths(n.root)[CERT_ROLES[cert]]
    aside = pki.reissue(base, pki.load_ca(lab.dir / "pki/ca"), start, end)
    head = f"{n.name}: {base}.crt reissued {what} (same key; old cert kept as {aside})"
    if cert in ("server", "peer"):
        # etcd rereads cert files per handshake, but a restart is what an operator expects
        # to make it take effect, so the member really runs with the new cert.
        return f"{head}; {_restart_note(lab, n.name, _stop_if_running(lab, n.name))}"
    return head


def expire_cert(lab: Lab, member: str | None, cert: str) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return _redate(lab, member, cert, start=now - dt.timedelta(days=366),
                   end=now - dt.timedelta(days=1), what="with notAfter in the past")


def not_yet_valid(lab: Lab, member: str | None, cert: str) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return _redate(lab, member, cert, start=now + dt.timedelta(days=30),
                   end=now + dt.timedelta(days=395),
                   what="with notBefore in the future (a clock set back by a power loss)")


# --------------------------------------------------------------------------- WAL


def wal_segments(n: NodeLayout) -> list[Path]:
    return sorted((n.spec.data_dir / "member/wal").glob("*.wal"))


def _damage_wal(lab: Lab, member: str | None, how: str) -> str:
    n = lab.node(member)
    segs = wal_segments(n)
    if not segs:
        raise _err(f"{n.name}: no WAL under {n.spec.data_dir}/member/wal")
    was = _stop_if_running(lab, n.name)
    seg = segs[-1]
    buf = seg.read_bytes()
    damage: Callable[[bytes], tuple[bytes, walfault.Frame]] = (
        walfault.corrupt if how == "corrupt" else walfault.tear)
    try:
        new, frame = damage(buf)
    except ValueError as exc:
        raise _err(f"{seg}: {exc}") from exc
    kept = _keep(lab, f"{n.name}-{how}-wal", {
        "file": str(seg), "offset": frame.offset,
        "original": buf[frame.offset:frame.end].hex()})
    _write_in_place(seg, new, frame)
    what = ("flipped a data byte of the entry record" if how == "corrupt"
            else "appended a torn record (length written, tail zero)")
    return (f"{n.name}: {seg.name}: {what} at offset {frame.offset} "
            f"(original bytes in {kept}); {_restart_note(lab, n.name, was)}")


def _write_in_place(path: Path, new: bytes, f: walfault.Frame) -> None:
    with open(path, "r+b") as fh:
        fh.seek(f.offset)
        fh.write(new[f.offset:f.end])


def corrupt_wal(lab: Lab, member: str | None, cert: str) -> str:
    return _damage_wal(lab, member, "corrupt")


def tear_wal(lab: Lab, member: str | None, cert: str) -> str:
    return _damage_wal(lab, member, "tear")


# --------------------------------------------------------------------------- snapshots, space


def truncate_snapshot(lab: Lab, member: str | None, cert: str) -> str:
    n = lab.node(member)
    snaps = sorted(n.backup_dir.glob("etcd-snapshot-*.db"))
    if not snaps:
        raise _err(f"{n.name}: no snapshot in {n.backup_dir}")
    newest = snaps[-1]
    (lab.dir / "faults").mkdir(exist_ok=True)
    kept = lab.dir / "faults" / f"{_stamp()}-{newest.name}"
    shutil.copy2(newest, kept)
    size = newest.stat().st_size
    with open(newest, "r+b") as fh:
        fh.truncate(size // 2)
    return f"{n.name}: {newest} cut from {size} to {size // 2} bytes (original kept as {kept})"


def nospace(lab: Lab, member: str | None, cert: str) -> str:
    n = lab.node(member)
    c = lab.client(n.name)
    try:
        ids = {m.name: m.id for m in c.members}
        alarms = c.create_alarm(member_id=ids.get(n.name, 0))
    except Exception as exc:  # noqa: BLE001 - etcd3 raises several kinds; say which member
        raise _err(f"{n.name}: cannot raise the NOSPACE alarm: {exc}") from exc
    finally:
        c.close()
    return f"{n.name}: NOSPACE alarm raised through the Maintenance API ({len(alarms)} active)"


FAULTS: dict[str, Callable[[Lab, str | None, str], str]] = {
    "power-cut": power_cut, "stop-member": stop_member, "expire-cert": expire_cert,
    "not-yet-valid": not_yet_valid, "corrupt-wal": corrupt_wal, "tear-wal": tear_wal,
    "truncate-snapshot": truncate_snapshot, "nospace": nospace,
}


NODE_FAULTS: dict[str, Callable[[Lab, str | None, dict[str, str]], str]] = {
    "blackhole": nodefaults.blackhole, "unreachable": nodefaults.unreachable,
    "change-host-key": nodefaults.change_host_key, "disk-full": nodefaults.disk_full,
    "clock-off": nodefaults.clock_off,
}
ALL_FAULTS = (*FAULTS, *NODE_FAULTS)


def inject(lab: Lab, fault: str, member: str | None, cert: str,
           opts: dict[str, str] | None = None) -> str:
    """One fault; `opts` carries a node fault's extras (disk-full path, clock-off offset)."""
    if fault in NODE_FAULTS:
        return NODE_FAULTS[fault](lab, member, opts or {})
    fn = FAULTS.get(fault)
    if fn is None:
        raise _err(f"unknown fault {fault!r} (one of {', '.join(ALL_FAULTS)})")
    return fn(lab, member, cert)
