"""Discovery from kubeadm's static-pod manifests: etcd.yaml gives the member, the
control-plane manifests give the services and the apiserver's etcd client flags."""

from __future__ import annotations

from blackstart.checks.discovery.node_root import Found, NodeRoot
from blackstart.checks.formats.manifests import apiserver_config, etcd_config, parse_static_pod
from blackstart.checks.model import Service

KUBEADM_MANIFESTS = "/etc/kubernetes/manifests"
# Where blackstart parks a manifest to stop its pod (runbook.services.parked_path: a
# sibling of the manifests dir). Mid-plan the etcd and apiserver manifests are there, and
# `resume` / `rollback` with no inventory must still find the cluster the plan was made for.
PARKED_MANIFESTS = "/etc/kubernetes/blackstart-parked"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _manifest(host: NodeRoot, name: str) -> tuple[str, str] | None:
    """(the manifest's path when in place, its text): in the manifests dir, else parked."""
    got = host.read(f"{KUBEADM_MANIFESTS}/{name}.yaml")
    if got is not None:
        return got
    parked = host.read(f"{PARKED_MANIFESTS}/{name}.yaml")
    return None if parked is None else (host.under(f"{KUBEADM_MANIFESTS}/{name}.yaml"),
                                        parked[1])


def from_kubeadm(host: NodeRoot) -> Found | None:
    got = _manifest(host, "etcd")
    if got is None:
        return None
    path, text = got
    pod = parse_static_pod(text, path, "etcd")
    cfg = etcd_config(pod.flags, path)
    services = [Service(node=cfg.name, name="etcd", kind="static-pod", manifest=path,
                        member=cfg.name)]
    api = None
    for comp in CONTROL_PLANE:
        comp_got = _manifest(host, comp)
        if comp_got is None:
            continue
        services.append(Service(node=cfg.name, name=comp, kind="static-pod",
                                manifest=comp_got[0]))
        if comp == "kube-apiserver":
            api = apiserver_config(parse_static_pod(comp_got[1], comp_got[0], comp).flags)
    return Found(cfg, path, services, api, kubeadm=True)
