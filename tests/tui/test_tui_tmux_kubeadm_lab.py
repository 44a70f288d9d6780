"""The cockpit the way the README tells an operator to run it, on the production-shaped
(kubeadm) lab: `blackstart` with no options and no blackstart.toml, in tmux inside
master01, reaching master02/master03 over SSH only. The screen is read with
`tmux capture-pane`, keys are typed with `tmux send-keys` (tests/tui/tmuxnode.py).

1. The seed outage: the screen names the expired server cert on master01, the corrupt
   WAL on master02 and the three members; `?` opens help; `R` opens the restore dialog,
   a wrong cluster name is refused and nothing is done; Escape cancels; `q` quits and no
   process of the app (nor an SSH session on master02/master03) is left.
(The start-members key `x` on the same outage: test_tui_tmux_start_kubeadm_lab.py.)
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from tmuxnode import TmuxCockpit, need_tmux

from blackstart.lab.outage import break_seed_outage, power_back

sys.path.insert(0, str(Path(__file__).parents[1] / "runbook"))
from rbhelpers import put_keys  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm, pytest.mark.timeout(600)]

def _seed_outage(lab: Any) -> None:
    put_keys(lab, "/test/before/", 10)
    break_seed_outage(lab)
    power_back(lab)


def _no_config(lab: Any) -> None:
    root = lab.node("master01").root
    for p in ("etc/blackstart/blackstart.toml", "root/blackstart.toml"):
        assert not (root / p).exists(), p


def _plan_files(lab: Any) -> list[str]:
    """Journals and audit logs blackstart wrote on any node (a plan that ran leaves one)."""
    out = []
    for name in ("master01", "master02", "master03"):
        base = lab.node(name).root / "var/lib/blackstart"
        out += [str(p) for p in base.rglob("*") if "journal" in str(p) or "audit" in p.name]
    return out


def _ssh_sessions(lab: Any, node: str) -> list[int]:
    """Host pids of the sessions `node`'s sshd forked (one per SSH connection)."""
    pid = lab.running(node, "sshd")
    if pid is None:
        return []
    with contextlib.suppress(psutil.Error):
        return [c.pid for c in psutil.Process(pid).children()]
    return []


def test_seed_outage_on_screen_keys_and_quit_in_tmux_inside_master01(
        kubeadm_lab_factory: Callable[..., Any],
        cockpit_factory: Callable[[Any], TmuxCockpit]) -> None:
    need_tmux()
    lab = kubeadm_lab_factory()
    _seed_outage(lab)
    _no_config(lab)
    t0 = time.monotonic()
    ui = cockpit_factory(lab)
    ui.start()
    shown = ui.wait("Quorum lost", "master01", "master02", "master03")
    print(f"\nkubeadm lab, tmux in master01: first verdict after {time.monotonic() - t0:.1f}s")
    # the verdict names the expired cert and its node (a first round on a loaded machine
    # can miss a node's files: then the operator refreshes, and so does the test)
    ui.wait_refreshing("Renew /etc/kubernetes/pki/etcd/server.crt on master01")
    ui.wait_refreshing("master02): corrupt; member master02 is lost")  # the WAL finding
    shown = ui.screen()
    for m in ("master01", "master02", "master03"):
        assert re.search(rf"│\s+{m}\s+127\.0\.\d+\.\d:2379", shown), (m, shown)
    ui.remember_processes()

    ui.keys("?")
    ui.wait("Keys of the main screen")
    ui.keys("Escape")
    ui.keys("R")
    shown = ui.wait("Type the cluster name (kubernetes)", timeout=240)
    ui.type("not-this-cluster")
    ui.keys("Enter")
    ui.wait("'not-this-cluster' is not the cluster name (kubernetes): nothing was done.")
    ui.keys("Escape")
    ui.wait_without("Type the cluster name")
    assert _plan_files(lab) == []
    for n in ("master01", "master02", "master03"):  # no data dir was set aside
        assert [p.name for p in (lab.node(n).root / "var/lib").iterdir()
                if p.name.startswith("etcd") and p.name != "etcd"] == [], n

    ui.quit()
    assert ui.wait_gone() == [], "processes of the app outlived `q`"
    for n in ("master02", "master03"):  # and no SSH session it opened lingers there
        end = time.monotonic() + 15
        while _ssh_sessions(lab, n) and time.monotonic() < end:
            time.sleep(0.3)
        assert _ssh_sessions(lab, n) == [], f"{n}: an SSH session outlived `q`"
