"""The certificate renewal plan: pick the certs, move the old files aside, write the
renewed pair, restart what uses them."""

from __future__ import annotations

import posixpath

from blackstart.checks.model import CertSpec, Cluster, Member, Service
from blackstart.checks.nodes import connect
from blackstart.runbook import cert_signing as certs
from blackstart.runbook import lock, services
from blackstart.runbook.plan import Plan, Step, StepIds, new_plan_id, stamp
from blackstart.runbook.preflight import PlanRefused

NO_RENEW_ROLES = ("etcd-ca",)  # CAs are never renewed (kubeadm does not either)


async def plan_renew(cluster: Cluster, *, member: str | None = None, expired: bool = False,
                     path: str | None = None, node: str | None = None, operator: str = ""
                     ) -> Plan:
    lock.check_free(cluster.state_dir, operator)
    specs = [s for s in cluster.certificates if s.role not in NO_RENEW_ROLES]
    if path:  # one file: the member (if any) is only what it belongs to
        specs = [s for s in specs if s.path == path and node in (None, s.node)]
    elif member:
        specs = [s for s in specs if s.member == member
                 and s.role in ("etcd-server", "etcd-peer")]
    if expired:
        specs = await _time_invalid(cluster, specs)
    if not specs:
        raise PlanRefused("no certificate to renew: " + (
            "none is expired or not yet valid by its node's clock" if expired
            else "none in the inventory matches"))
    ids, ts, steps, why = StepIds(), stamp(), [], []
    await _check_ca_pairs(cluster, specs)
    steps += _ca_check_steps(specs, ids)
    for spec in specs:
        steps += _renew_steps(cluster, spec, ids, ts)
        why.append(f"{spec.role} {spec.path} on {spec.node}")
    users = _users(cluster, specs)
    for svc, m in users:
        steps += services.restart_steps(svc, ids, m)

    return Plan(new_plan_id("renew-cert"), "renew-cert", "Renew certificates from the CA",
                cluster.name, "; ".join(why), True, steps,
                warnings=["each renewed cert keeps its subject, SANs and EKU; new key; "
                          "NotAfter = now + 365 d; old files kept beside with .{ts}"])


async def _time_invalid(cluster: Cluster, specs: list[CertSpec]) -> list[CertSpec]:
    """Expired or not-yet-valid by the node's own clock (the one its etcd checks with)."""
    out = []
    for node in sorted({s.node for s in specs}):
        async with connect(cluster.node(node)) as c:
            now = await c.now()
            for s in (s for s in specs if s.node == node):
                try:
                    problem = certs.time_problem(await c.read_file(s.path), now, s.path)
                except (certs.CertError, Exception) as exc:  # noqa: BLE001
                    raise PlanRefused(f"cannot read certificate {s.path} on {node}: {exc}"
                                      ) from exc
                if problem:
                    out.append(s)
    return out


def ca_key_path(ca: str) -> str:
    return ca[:-4] + ".key" if ca.endswith(".crt") else ca + ".key"


async def _check_ca_pairs(cluster: Cluster, specs: list[CertSpec]) -> None:
    """Before the plan is even shown: every CA key matches its CA cert and signs a test
    cert like the one to renew. Nothing is moved for a CA that cannot sign."""
    import time

    for spec in specs:
        if not spec.key or not spec.ca:
            continue  # refused with its own message by _renew_steps
        async with connect(cluster.node(spec.node)) as c:
            try:
                ca_cert, ca_key = await c.read_file(spec.ca), await c.read_file(
                    ca_key_path(spec.ca))
                certs.check_ca_pair(ca_cert, ca_key, await c.read_file(spec.path), time.time())
            except certs.CertError as exc:
                raise PlanRefused(f"cannot renew {spec.path} on {spec.node} with CA "
                                  f"{spec.ca} + {ca_key_path(spec.ca)}: {exc}") from exc


def _ca_check_steps(specs: list[CertSpec], ids: StepIds) -> list[Step]:
    seen: set[tuple[str, str]] = set()
    steps = []
    for spec in specs:
        if not spec.ca or (spec.node, spec.ca) in seen:
            continue
        seen.add((spec.node, spec.ca))
        steps.append(Step(ids("check-ca"), spec.node, "check the CA can sign", "check",
                          detail=f"{ca_key_path(spec.ca)} is the key of {spec.ca} and signs a "
                                 f"test cert that verifies (before any file moves)",
                          args={"kind": "ca-pair", "ca_cert": spec.ca,
                                "ca_key": ca_key_path(spec.ca), "sample": spec.path}))
    return steps


def _renew_steps(cluster: Cluster, spec: CertSpec, ids: StepIds, ts: str) -> list[Step]:
    if not spec.key or not spec.ca:
        raise PlanRefused(f"certificate {spec.path} on {spec.node}: the inventory names no "
                          "key or CA for it")
    ca_key = ca_key_path(spec.ca)
    old_cert, old_key = f"{spec.path}.{ts}", f"{spec.key}.{ts}"
    steps = []
    for cur, old in ((spec.path, old_cert), (spec.key, old_key)):
        steps.append(Step(ids("aside"), spec.node, f"keep the old {posixpath.basename(cur)}",
                          "rename", detail=f"mv {cur} -> {old}", args={"src": cur, "dst": old},
                          undo=f"mv {old} -> {cur}", undo_op="rename-back"))
    steps.append(Step(
        ids("renew"), spec.node, f"renew {spec.role} {posixpath.basename(spec.path)}", "write",
        detail=(f"sign a new cert for {spec.path} with {spec.ca} + {ca_key}, copying subject, "
                f"SANs, EKU from {old_cert}; new key {spec.key} (0600)"),
        precondition=f"{old_cert} and {ca_key} readable",
        args={"kind": "renew-cert", "from_cert": old_cert, "cert": spec.path,
              "key": spec.key, "ca_cert": spec.ca, "ca_key": ca_key}))
    return steps


def _users(cluster: Cluster, specs: list[CertSpec]) -> list[tuple[Service, Member | None]]:
    """What must restart to load the new files: the member's etcd for its server/peer
    cert, the node's kube-apiserver for apiserver-etcd-client."""
    out: list[tuple[Service, Member | None]] = []
    seen: set[tuple[str, str]] = set()
    for s in specs:
        if s.role in ("etcd-server", "etcd-peer") and s.member:
            m = cluster.member(s.member)
            svc = services.etcd_service(cluster, m)
            key = (svc.node, f"etcd:{m.name}")
            if key not in seen:
                seen.add(key)
                out.append((svc, m))
        elif s.role == "apiserver-etcd-client":
            for svc in cluster.services_named("kube-apiserver"):
                if svc.node == s.node and (svc.node, svc.name) not in seen:
                    seen.add((svc.node, svc.name))
                    out.append((svc, None))
    return out
