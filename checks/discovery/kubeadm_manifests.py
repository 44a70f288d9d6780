"""Discovery from kubeadm's static-pod manifests: etcd.yaml gives the member, the
control-plane manifests give the services and the apiserver's etcd client flags."""

from __future__ import annotations

from blackstart.checks.discovery.node_root import Found, NodeRoot
from blackstart.checks.formats.manifests import apiserver_config, etcd_config, parse_static_pod
from blackstart.checks.model import Service

KUBEADM_MANIFESTS = "/etc/kubernetes/manifests"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def from_kubeadm(host: NodeRoot) -> Found | None:
    got = host.read(f"{KUBEADM_MANIFESTS}/etcd.yaml")
    if got is None:
        return None
    path, text = got
    pod = parse_static_pod(text, path, "etcd")
    cfg = etcd_config(pod.flags, path)
    services = [Service(node=cfg.name, name="etcd", kind="static-pod", manifest=path,
                        member=cfg.name)]
    api = None
    for comp in CONTROL_PLANE:
        comp_got = host.read(f"{KUBEADM_MANIFESTS}/{comp}.yaml")
        if comp_got is None:
            continue
        services.append(Service(node=cfg.name, name=comp, kind="static-pod",
                                manifest=comp_got[0]))
        if comp == "kube-apiserver":
            api = apiserver_config(parse_static_pod(comp_got[1], comp_got[0], comp).flags)
    return Found(cfg, path, services, api, kubeadm=True)
