"""Property (issue 11): the steps of plan_for(request) touch only the nodes, members and
paths the request names. Clusters are kubeadm-shaped (the same /var/lib/etcd and
/etc/kubernetes paths on every node), so a step found by path alone would show up here.
Cluster-wide reads (quorum wait, hashkv verify) are filed under the named member's node."""

from __future__ import annotations

import asyncio
import posixpath
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blackstart.checks.model import CertSpec, Cluster, Member, Node, Service
from blackstart.checks.requests import Renew, ReplaceMember, Request, RestartService, StartMembers
from blackstart.runbook.plan import PATH_ARGS, Plan
from blackstart.runbook.planner import aplan_for

RUNS = {"n": 0}


def kubeadm_cluster(n: int, state: str) -> Cluster:
    nodes = tuple(Node(f"master{i:02d}") for i in range(1, n + 1))
    members = tuple(Member(f"etcd{i}", f"master{i:02d}", f"https://127.0.77.{i}:2379",
                           f"https://127.0.77.{i}:2380", "/var/lib/etcd",
                           manifest="/etc/kubernetes/manifests/etcd.yaml")
                    for i in range(1, n + 1))
    svcs = tuple(Service(f"master{i:02d}", name, "static-pod",
                         manifest=f"/etc/kubernetes/manifests/{name}.yaml",
                         member=f"etcd{i}" if name == "etcd" else None)
                 for i in range(1, n + 1) for name in ("etcd", "kube-apiserver"))
    pki = "/etc/kubernetes/pki/etcd"
    certs = tuple(CertSpec(f"master{i:02d}", "etcd-server", f"{pki}/server.crt",
                           f"{pki}/server.key", f"{pki}/ca.crt", f"etcd{i}")
                  for i in range(1, n + 1))
    return Cluster("prod", nodes, members, certificates=certs, services=svcs, state_dir=state)


def requests(n: int) -> st.SearchStrategy[Request]:
    names = [f"etcd{i}" for i in range(1, n + 1)]
    nodes = [f"master{i:02d}" for i in range(1, n + 1)]
    return st.one_of(
        st.lists(st.sampled_from(names), min_size=1, max_size=n, unique=True).map(
            lambda xs: StartMembers(tuple(xs))),
        st.sampled_from(names).map(ReplaceMember),
        st.tuples(st.sampled_from(nodes), st.sampled_from(["etcd", "kube-apiserver"])).map(
            lambda t: RestartService(t[0], t[1])),
        st.sampled_from(nodes).map(lambda node: Renew(node, "/etc/kubernetes/pki/etcd/server.crt")),
    )


def named(cl: Cluster, r: Request) -> tuple[set[str], set[str]]:
    """(nodes, members) the request names."""
    if isinstance(r, StartMembers):
        ms = set(r.members)
    elif isinstance(r, ReplaceMember):
        ms = {r.member}
    else:
        node = r.node
        ms = {m.name for m in cl.members if m.node == node}
        return {str(node)}, ms
    return {cl.member(m).node for m in ms}, ms


def assert_in_scope(cl: Cluster, r: Request, plan: Plan) -> None:
    nodes, members = named(cl, r)
    allowed_paths = {"/var/lib/etcd", "/etc/kubernetes"}
    for s in plan.steps:
        assert s.node in nodes, (r, s)
        member = s.args.get("member")
        if member:
            assert member in members, (r, s)
        for k in PATH_ARGS:
            v = s.args.get(k)
            if isinstance(v, str) and v.startswith("/"):
                assert any(v == a or v.startswith(a + "/") or v.startswith(a + ".")
                           or posixpath.dirname(v).startswith(a) for a in allowed_paths), (r, s)
        if s.args.get("kind") == "quorum":
            assert not set(str(s.args.get("exclude", "")).split(",")) - members - {""}, s


async def _no_ca_check(*_: object) -> None:
    return None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([3, 5]).flatmap(lambda n: st.tuples(st.just(n), requests(n))))
def test_plans_touch_only_what_the_request_names(
        tmp_path_factory: pytest.TempPathFactory, nr: tuple[int, Request]) -> None:
    n, r = nr
    state = str(tmp_path_factory.getbasetemp() / "props-state")
    cl = kubeadm_cluster(n, state)
    # the renew planner checks the CA pair on the node first (issue 13); these generated
    # nodes have no files, so that one read is skipped here: the plan's scope is the point
    with mock.patch("blackstart.runbook.renew._check_ca_pairs", _no_ca_check):
        plan = asyncio.run(aplan_for(r, cl, None, operator="prop"))
    assert_in_scope(cl, r, plan)
    assert plan.digest() == plan.digest() and len(plan.digest()) == 64
    RUNS["n"] += 1


def test_zz_report_run_count() -> None:
    print(f"\nplan scope property: {RUNS['n']} generated requests planned and checked")
