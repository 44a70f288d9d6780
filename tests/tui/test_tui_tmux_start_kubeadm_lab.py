"""The start-members key `x` on the seed outage, the way an operator runs the cockpit:
`blackstart` with no options and no blackstart.toml, in tmux inside master01 of the
production-shaped (kubeadm) lab (tests/tui/tmuxnode.py).

etcd was stopped everywhere (manifests parked where blackstart parks them) after the power
cut, master01's server cert expired, master02's WAL is corrupt. The verdict says: renew
master01's cert, then start etcd on master01 and master03. The operator does that with the
keys: `c` (renew, confirmed), then `x`: its plan starts only the intact members (master01,
master03, never master02), confirmed from the keyboard (Tab, Enter), and quorum is back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tmuxnode import TmuxCockpit, need_tmux

from blackstart.lab.outage import break_seed_outage, power_back

sys.path.insert(0, str(Path(__file__).parents[1] / "runbook"))
from rbhelpers import etcdctl, need_debian_etcdctl, put_keys  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm, pytest.mark.timeout(900)]

PARKED = "etc/kubernetes/blackstart-parked/etcd.yaml"
LIVE = "etc/kubernetes/manifests/etcd.yaml"


def _confirm(ui: TmuxCockpit, title: str) -> None:
    """Confirm the open dialog from the keyboard: the cluster name when it asks for it,
    else Tab to Confirm and Enter; then wait for the run to end well and close it."""
    shown = ui.wait(title, "Target:", "Confirm", timeout=240)  # "Target:": the dialog
    if "Type the cluster name (kubernetes)" in shown:
        ui.type("kubernetes")
        ui.keys("Enter")
    else:
        ui.keys("Tab", "Enter")
    ui.wait("Done: every step succeeded.", timeout=300)
    ui.keys("Escape")


def test_start_members_key_starts_only_the_intact_members_in_tmux_inside_master01(
        kubeadm_lab_factory: Callable[..., Any],
        cockpit_factory: Callable[[Any], TmuxCockpit]) -> None:
    need_tmux()
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/test/before/", 10)
    break_seed_outage(lab)
    power_back(lab)
    for m in ("master01", "master02", "master03"):  # "stop etcd everywhere"
        lab.stop(m)
    assert not (Path(lab.node("master01").root) / "etc/blackstart/blackstart.toml").exists()
    ui = cockpit_factory(lab)
    ui.start()
    ui.wait("0/3 healthy", "[x]")
    ui.wait_refreshing("Start etcd on master01, master03: nothing shows their data is lost")
    ui.keys("c")
    _confirm(ui, "server.crt")
    ui.keys("x")
    shown = ui.wait("Start etcd master01, master03", "Confirm", timeout=240)
    plan = [x for x in shown.splitlines() if re.search(r"\d+\. \[master0\d\]", x)]
    assert plan and not [x for x in plan if "[master02]" in x], plan
    _confirm(ui, "Start etcd master01, master03")
    root = {n: lab.node(n).root for n in ("master01", "master02", "master03")}
    assert (root["master01"] / LIVE).exists() and (root["master03"] / LIVE).exists()
    assert (root["master02"] / PARKED).exists() and not (root["master02"] / LIVE).exists()
    # quorum is back: master03 answers a linearizable read (it needs master01's vote)
    r = etcdctl(lab, "get", "--prefix", "--keys-only", "/test/before/", member="master03")
    assert r.returncode == 0 and len(r.stdout.split()) == 10, r.stderr
    ui.quit()
