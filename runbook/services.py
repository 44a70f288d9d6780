"""Steps that stop, start and wait for one service on one node, for each kind of service:
`command` (the argv from the inventory), `systemd` (systemctl) and `static-pod` (kubeadm:
the kubelet stops a pod when its manifest leaves the manifests dir, starts it when back).
"""

from __future__ import annotations

import os

from blackstart.checks.errors import BlackstartError
from blackstart.checks.model import Cluster, Member, Service
from blackstart.runbook.plan import Step, StepIds


class ServiceError(BlackstartError):
    """A service of the inventory cannot be started, stopped or found."""


def parked_path(manifest: str) -> str:
    """Where a static-pod manifest waits while its pod is stopped: outside the manifests
    dir (the kubelet watches every file in it), in a sibling runbook dir."""
    d = os.path.dirname(manifest.rstrip("/"))
    return os.path.join(os.path.dirname(d), "blackstart-parked", os.path.basename(manifest))


def stop_steps(svc: Service, ids: StepIds, member: Member | None = None,
               wait_timeout: float = 30.0) -> list[Step]:
    steps = [_stop(svc, ids)]
    if member is not None:
        steps.append(wait_stopped_step(svc.node, member, ids, wait_timeout))
    elif svc.kind == "static-pod":
        steps.append(_wait_process(svc, ids, gone=True, timeout=wait_timeout))
    return steps


def start_steps(svc: Service, ids: StepIds, wait_timeout: float = 60.0,
                member: Member | None = None) -> list[Step]:
    steps = [_start(svc, ids)]
    if svc.kind == "static-pod":
        steps.append(_wait_process(svc, ids, gone=False, timeout=wait_timeout))
    if member is not None:
        steps.append(wait_listening_step(svc.node, member, ids, wait_timeout))
    return steps


def restart_steps(svc: Service, ids: StepIds, member: Member | None = None) -> list[Step]:
    """Stop, confirm, start; for an etcd member also wait until it listens again, so that
    restarting several members one after the other never takes two down at once."""
    return stop_steps(svc, ids, member) + start_steps(svc, ids, member=member)


def wait_listening_step(node: str, member: Member, ids: StepIds, timeout: float) -> Step:
    return Step(ids(f"wait-listening-{member.name}"), node, f"wait for etcd {member.name}",
                "wait", detail=f"until {member.client_url} accepts connections "
                               f"(≤ {timeout:g}s)",
                args={"kind": "listening", "member": member.name}, timeout=timeout)


def _stop(svc: Service, ids: StepIds) -> Step:
    title = f"stop {svc.name}"
    if svc.kind == "command":
        _need(svc, svc.stop, "stop")
        return Step(ids(f"stop-{svc.name}"), svc.node, title, "run", argv=svc.stop,
                    undo=f"start {svc.name} again", undo_op="run", undo_argv=svc.start,
                    args={"member": svc.member or "", "undo_starts": True})
    if svc.kind == "systemd":
        unit = _unit(svc)
        return Step(ids(f"stop-{svc.name}"), svc.node, title, "run",
                    argv=("systemctl", "stop", unit), undo=f"systemctl start {unit}",
                    undo_op="run", undo_argv=("systemctl", "start", unit),
                    args={"member": svc.member or "", "undo_starts": True})
    if svc.kind == "static-pod":
        src = _manifest(svc)
        dst = parked_path(src)
        return Step(ids(f"park-{svc.name}"), svc.node, f"{title} (move its manifest out)",
                    "rename", detail=f"mv {src} -> {dst}",
                    args={"src": src, "dst": dst, "undo_starts": True},
                    precondition=f"{src} exists, {dst} does not",
                    undo=f"mv {dst} -> {src}", undo_op="rename-back")
    raise ServiceError(f"service {svc.name} on {svc.node}: unknown kind {svc.kind!r}")


def _start(svc: Service, ids: StepIds) -> Step:
    title = f"start {svc.name}"
    if svc.kind == "command":
        _need(svc, svc.start, "start")
        return Step(ids(f"start-{svc.name}"), svc.node, title, "run", argv=svc.start,
                    undo=f"stop {svc.name}", undo_op="run", undo_argv=svc.stop,
                    args={"member": svc.member or ""})
    if svc.kind == "systemd":
        unit = _unit(svc)
        return Step(ids(f"start-{svc.name}"), svc.node, title, "run",
                    argv=("systemctl", "start", unit), undo=f"systemctl stop {unit}",
                    undo_op="run", undo_argv=("systemctl", "stop", unit),
                    args={"member": svc.member or ""})
    if svc.kind == "static-pod":
        dst = _manifest(svc)
        src = parked_path(dst)
        return Step(ids(f"unpark-{svc.name}"), svc.node, f"{title} (move its manifest back)",
                    "rename", detail=f"mv {src} -> {dst}", args={"src": src, "dst": dst},
                    precondition=f"{src} exists", undo=f"mv {dst} -> {src}",
                    undo_op="rename-back")
    raise ServiceError(f"service {svc.name} on {svc.node}: unknown kind {svc.kind!r}")


def wait_stopped_step(node: str, member: Member, ids: StepIds, timeout: float) -> Step:
    return Step(ids(f"wait-stopped-{member.name}"), node, f"confirm etcd {member.name} stopped",
                "wait", detail=(f"until no etcd process uses {member.data_dir} and "
                                f"{member.client_url} refuses connections (≤ {timeout:g}s)"),
                args={"kind": "stopped", "member": member.name}, timeout=timeout)


def _wait_process(svc: Service, ids: StepIds, gone: bool, timeout: float) -> Step:
    what = "gone" if gone else "running again"
    return Step(ids(f"wait-{svc.name}-{'gone' if gone else 'back'}"), svc.node,
                f"wait until {svc.name} is {what}", "wait",
                detail=f"until a {svc.name} process is {what} (≤ {timeout:g}s)",
                args={"kind": "process-gone" if gone else "process-back", "name": svc.name},
                timeout=timeout)


def etcd_service(cluster: Cluster, member: Member) -> Service:
    for s in cluster.services_named("etcd"):
        if s.member == member.name or (s.member is None and s.node == member.node):
            return s
    if member.manifest:
        return Service(member.node, "etcd", "static-pod", manifest=member.manifest,
                       member=member.name)
    if member.unit:
        return Service(member.node, "etcd", "systemd", unit=member.unit, member=member.name)
    raise ServiceError(f"member {member.name}: the inventory says neither how to stop nor how "
                       "to start its etcd (add a [[services]] entry, a manifest or a unit)")


def _need(svc: Service, argv: tuple[str, ...], what: str) -> None:
    if not argv:
        raise ServiceError(f"service {svc.name} on {svc.node}: kind 'command' but no {what} "
                           "argv in the inventory")


def _unit(svc: Service) -> str:
    if not svc.unit:
        raise ServiceError(f"service {svc.name} on {svc.node}: kind 'systemd' but no unit")
    return svc.unit


def _manifest(svc: Service) -> str:
    if not svc.manifest:
        raise ServiceError(f"service {svc.name} on {svc.node}: kind 'static-pod' but no manifest")
    return svc.manifest
