"""The lab over SSH, with another etcd build, its demo and CLI, and the CI rule."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from labnet import claim_net, missing
from test_lab_up import debian_etcdctl

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.nodes import NodeError, connect
from blackstart.cli import cli
from blackstart.lab.cluster import Lab

LabFactory = Callable[..., Lab]


def test_missing_component_fails_under_ci_and_skips_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing("etcd")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        missing("etcd")


@pytest.mark.lab
@pytest.mark.ssh
def test_ssh_lab_nodes_are_reached_over_real_openssh(
        lab_factory: LabFactory, sshd_path: str, tmp_path: Path) -> None:
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    node = cluster.node("etcd2")
    assert node.ssh is not None and node.ssh.port == 2222 and node.ssh.host == f"{lab.net}.2"

    async def probe() -> tuple[str, list[str]]:
        async with connect(node) as c:
            res = await c.run(["cat", str(lab.node("etcd2").spec.manifest_path)])
            names = [e.name for e in await c.list_dir(str(lab.node("etcd2").backup_dir))]
            return res.text(), names

    text, names = asyncio.run(probe())
    assert "--name=etcd2" in text
    assert len([n for n in names if n.startswith("etcd-snapshot-")]) == 2

    # known_hosts is honoured: a host key it does not list is refused, never accepted.
    other = tmp_path / "known_hosts"
    other.write_text("")
    stranger = type(node)(node.name, ssh=type(node.ssh)(
        node.ssh.host, node.ssh.port, node.ssh.user, node.ssh.key_file, str(other)))

    async def refused() -> None:
        async with connect(stranger) as c:
            await c.run(["true"])

    with pytest.raises(NodeError) as exc:
        asyncio.run(refused())
    assert exc.value.kind == "hostkey"


@pytest.mark.lab
def test_debian_etcd_34_runs_the_same_lab(lab_factory: LabFactory) -> None:
    if not os.path.exists("/usr/bin/etcd"):
        missing("/usr/bin/etcd (Debian etcd-server)")
    lab = lab_factory(etcd="/usr/bin/etcd")
    r = debian_etcdctl(lab, "endpoint", "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("3.4.") == 3
    cluster = load_inventory(config=str(lab.inventory_path))
    assert cluster.node("etcd1").etcdutl == "" and cluster.node("etcd1").etcdctl.endswith(
        "etcdctl")
    said = lab.break_fault("corrupt-wal", "etcd2")
    assert said.endswith("etcd exited")
    assert "walpb: crc mismatch" in lab.node("etcd2").log("etcd").read_text()


@pytest.mark.lab
def test_demo_injects_the_seed_outage_and_opens_the_tui(
        etcd_bins: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blackstart.cli import tui as cli_tui

    opened: list[str] = []
    monkeypatch.setattr(cli_tui, "open_tui", lambda config, **_: opened.append(config))
    net, lock = claim_net()
    lab = Lab(tmp_path / "demo", net=net)
    try:
        res = CliRunner().invoke(cli, ["demo", "--dir", str(lab.dir), "--net", net,
                                       "--shape", "flat"])
        assert res.exit_code == 0, res.output
        assert opened == [str(lab.inventory_path)]
        assert "power cut" in res.output and "etcd2" in res.output
        assert lab.status()["healthy"] == 0
        assert ".crt." in res.output  # etcd1's old server cert kept aside
        lab.start("etcd2")
        assert lab.wait_started("etcd2") == "exited"  # its WAL is corrupt
    finally:
        lab.down()
        lock.close()
    assert lab.stray_processes() == []
    marker = str(lab.dir) + "/"
    assert not [p.pid for p in psutil.process_iter(["cmdline"])
                if any(marker in a for a in p.info["cmdline"] or [])]


def test_cli_errors_name_the_problem(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["lab", "status", "--dir", str(tmp_path)])
    assert r.exit_code == 1 and "no lab here" in r.output
    r = CliRunner().invoke(cli, ["lab", "up", "--dir", str(tmp_path), "--net", "10.0.0"])
    assert r.exit_code == 1 and "inside 127/8" in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["lab", "break", "power-cut", "--dir", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no lab here" in r.output
    assert not (tmp_path / "none").exists()  # refusing created nothing


@pytest.mark.lab
def test_cli_unknown_member_is_a_clean_error(healthy_lab: Lab) -> None:
    r = CliRunner().invoke(cli, ["lab", "break", "stop-member", "--dir", str(healthy_lab.dir),
                                 "--member", "etcd9"])
    assert r.exit_code == 1 and "no member 'etcd9'" in r.output


@pytest.mark.lab
@pytest.mark.kubeadm
def test_demo_on_kubeadm_opens_blackstart_inside_the_first_master(
        etcd_bins: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` as root: the kubeadm-shaped lab with the seed outage, and the TUI exec'd
    inside master01 with no options. The argv it would exec is run with `check --json`
    instead: inside master01, with no configuration, blackstart sees the outage."""
    import json

    from blackstart.lab.kubeadm import KubeadmLab
    from blackstart.lab.shapes import kubeadm_missing

    if kubeadm_missing():
        missing(str(kubeadm_missing()))
    execs: list[list[str]] = []
    monkeypatch.setattr(os, "execvp", lambda f, argv: execs.append(list(argv)))
    net, lock = claim_net()
    lab = KubeadmLab(tmp_path / "demo", net=net)
    try:
        res = CliRunner().invoke(cli, ["demo", "--dir", str(lab.dir), "--net", net])
        assert res.exit_code == 0, res.output
        assert "kubeadm shape" in res.output and "master02" in res.output
        assert len(execs) == 1 and execs[0][0] == "nsenter" and execs[0][-1] == "blackstart"
        argv = [*execs[0], "check", "--json", "--deadline", "30"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
        doc = json.loads(out.stdout)
        codes = {(f["code"], f["subject"]) for f in doc["findings"]}
        assert ("cert-expired", "/etc/kubernetes/pki/etcd/server.crt") in codes, codes
        assert not [f for f in doc["findings"] if f["code"] == "clock-skew"], doc["clocks"]
        assert any(w["member"] == "master02" and w["state"] == "corrupt" for w in doc["wal"])
        assert {m["name"] for m in doc["members"]} == {"master01", "master02", "master03"}
    finally:
        lab.down()
        lock.close()
    assert lab.stray_processes() == []
