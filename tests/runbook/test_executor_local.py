"""The executor on this machine's real processes, no etcd needed: a static pod restarted
under a minimal kubelet stand-in, a plan that never blocks the event loop, a failing step
that stops the plan and is audited."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from blackstart.checks.model import Cluster, Member, Node, Service
from blackstart.checks.requests import Renew, RestartService, StartMembers
from blackstart.runbook import lock
from blackstart.runbook.audit import read_audit
from blackstart.runbook.executor import execute
from blackstart.runbook.ops_waits import program_pids
from blackstart.runbook.plan import Plan, Step
from blackstart.runbook.planner import PlanRefused, aplan_for
from blackstart.runbook.runner import StepEvent


class Kubelet:
    """What the kubelet does for static pods, reduced to one: run the program while its
    manifest is in the manifests dir, kill it when the manifest leaves."""

    def __init__(self, manifest: Path, program: Path) -> None:
        self.manifest, self.program = manifest, program
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop = threading.Event()
        self.starts = 0
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while not self.stop.wait(0.1):
            if self.manifest.exists() and self.proc is None:
                self.proc = subprocess.Popen([str(self.program), "3600"])
                self.starts += 1
            elif not self.manifest.exists() and self.proc is not None:
                self.proc.kill()
                self.proc.wait()
                self.proc = None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def kubelet(tmp_path: Path) -> Iterator[Kubelet]:
    manifests = tmp_path / "etc/kubernetes/manifests"
    manifests.mkdir(parents=True)
    manifest = manifests / "kube-scheduler.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\n")
    program = tmp_path / "bin" / "kube-scheduler"  # a real program by that name
    program.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    k = Kubelet(manifest, program)
    k.thread.start()
    yield k
    k.close()


def _cluster(tmp_path: Path, *services: Service) -> Cluster:
    m = Member("e1", "n1", "https://127.0.0.1:1", "https://127.0.0.1:2",
               str(tmp_path / "var/lib/etcd"))
    return Cluster("t", (Node("n1"),), (m,), services=services,
                   state_dir=str(tmp_path / "state"))


async def test_static_pod_restart_moves_the_manifest_out_and_back(
        tmp_path: Path, kubelet: Kubelet) -> None:
    svc = Service("n1", "kube-scheduler", "static-pod", manifest=str(kubelet.manifest))
    cl = _cluster(tmp_path, svc)
    assert await _wait(lambda: kubelet.starts == 1)
    plan = await aplan_for(RestartService(None, "kube-scheduler"), cl, operator="t")
    assert [s.op for s in plan.steps] == ["rename", "wait", "rename", "wait"]
    res = await execute(plan, cl, operator="t")
    assert res.ok, res.error
    assert kubelet.starts == 2 and kubelet.manifest.exists()
    parked = tmp_path / "etc/kubernetes/blackstart-parked"
    assert parked.is_dir() and list(parked.iterdir()) == []
    assert [a["status"] for a in read_audit(cl.state_dir)] == ["ok"] * 4


def test_program_pids_reads_argv0_not_comm() -> None:
    out = "7 /usr/local/bin/kube-controller-manager --v=2\n8 sh -c pgrep kube-controller-manager\n"
    assert program_pids(out, "kube-controller-manager") == [7]


async def _wait(pred: object, timeout: float = 10) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_execute_never_blocks_the_event_loop_and_reports_each_step(
        tmp_path: Path) -> None:
    steps = [Step(f"0{i}-sleep", "n1", "sleep", "run", argv=("sleep", "0.5")) for i in range(3)]
    plan = Plan("p-nonblock", "test", "t", "t", "local", False, steps)
    cl = _cluster(tmp_path)
    ticks: list[float] = []
    events: list[StepEvent] = []

    async def ticker() -> None:
        for _ in range(200):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    t = asyncio.create_task(ticker())
    res = await execute(plan, cl, operator="t", on_event=events.append)
    t.cancel()
    assert res.ok
    assert len(ticks) >= 20  # ~1.5 s of steps; the loop kept ticking all along
    assert max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) < 0.4
    assert [(e.index, e.status) for e in events if e.status != "output"] == [
        (0, "running"), (0, "ok"), (1, "running"), (1, "ok"), (2, "running"), (2, "ok")]


async def test_a_failing_step_stops_the_plan_and_is_audited(tmp_path: Path) -> None:
    steps = [Step("01-ok", "n1", "fine", "run", argv=("true",)),
             Step("02-bad", "n1", "fails", "run", argv=("sh", "-c", "echo boom >&2; exit 3")),
             Step("03-never", "n1", "never", "run", argv=("true",))]
    cl = _cluster(tmp_path)
    res = await execute(Plan("p-fail", "test", "t", "t", "x", True, steps), cl, operator="t")
    assert not res.ok and res.failed_step is not None and res.failed_step.id == "02-bad"
    assert "exit code 3: boom" in (res.error or "")
    audit = read_audit(cl.state_dir)
    assert [(a["step"], a["exit_code"], a["status"]) for a in audit] == [
        ("01-ok", 0, "ok"), ("02-bad", 3, "failed")]
    assert lock.held_by(cl.state_dir) is None and lock.read_holder(cl.state_dir) is None


async def test_finding_requests_are_planned_as_they_come(tmp_path: Path) -> None:
    from blackstart.checks.model import CertSpec

    pki = tmp_path / "pki"
    _write_pki(pki)
    spec = CertSpec("n1", "etcd-server", str(pki / "server.crt"), str(pki / "server.key"),
                    str(pki / "ca.crt"), "e1")
    svc = Service("n1", "etcd", "command", start=("true",), stop=("true",), member="e1")
    cl = dataclasses.replace(_cluster(tmp_path, svc), certificates=(spec,))
    # exactly what checks.reasoning.diagnosis puts in a finding for an expired server cert
    plan = await aplan_for(Renew("n1", spec.path, member="e1"), cl, None, operator="t")
    assert [s.op for s in plan.steps] == ["check", "rename", "rename", "write", "run", "wait",
                                          "run", "wait"]
    assert plan.steps[3].args["ca_key"] == str(pki / "ca.key")
    assert plan.request == {"action": "renew-cert", "node": "n1", "path": spec.path,
                            "member": "e1", "expired": False}
    plan = await aplan_for(StartMembers(("e1",)), cl, None, operator="t")
    assert plan.steps[0].argv == ("true",) and {s.node for s in plan.steps} == {"n1"}
    with pytest.raises(PlanRefused, match="no member named 'e9'"):
        await aplan_for(StartMembers(("e9",)), cl, None, operator="t")



def _two_step_plan(tmp_path: Path) -> Plan:
    a, b = tmp_path / "a", tmp_path / "b"
    return Plan("p-digest", "restart", "t", "t", "t", False, [
        Step("01-touch", "n1", "touch a", "run", argv=("touch", str(a))),
        Step("02-touch", "n1", "touch b", "run", argv=("touch", str(b)))])


async def test_only_the_confirmed_plan_runs(tmp_path: Path) -> None:
    """Issue 11: the digest confirmed is checked before anything runs, and each step is
    checked against the journal's fingerprints before it runs."""
    cl = _cluster(tmp_path)
    plan = _two_step_plan(tmp_path)
    confirmed = plan.digest()
    plan.steps[1] = dataclasses.replace(plan.steps[1], argv=("touch", str(tmp_path / "evil")))
    res = await execute(plan, cl, operator="t", confirmed=confirmed)
    assert res.refused and "changed since it was confirmed" in (res.error or "")
    assert not (tmp_path / "a").exists() and not (tmp_path / "evil").exists()

    plan = _two_step_plan(tmp_path)
    seen: list[str] = []

    def swap(e: StepEvent) -> None:  # the plan object changes under the executor
        if e.step.id == "01-touch" and e.status == "ok":
            plan.steps[1] = dataclasses.replace(plan.steps[1], argv=("rm", "-rf", "/nope"))
        seen.append(f"{e.step.id}:{e.status}")

    res = await execute(plan, cl, operator="t", on_event=swap, confirmed=plan.digest())
    assert not res.ok and "differs from the confirmed plan" in (res.error or "")
    assert (tmp_path / "a").exists() and "02-touch:running" not in seen
    assert [a["step"] for a in read_audit(cl.state_dir)] == ["01-touch"]


def _write_pki(pki: Path) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from blackstart.lab import pki as labpki

    ca = labpki.make_ca()
    labpki.write_pair(pki / "ca", ca.cert, ca.key)
    key = labpki.new_key()
    cert = labpki.issue(ca, key, labpki._name("e1"), [ExtendedKeyUsageOID.SERVER_AUTH])
    labpki.write_pair(pki / "server", cert, key)
