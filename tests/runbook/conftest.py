"""Runbook lab fixtures. Labs here live on 127.<200+pid%50>.<k>: the shared `lab_factory`
numbers its nets from 127.0.20 in every session, so two sessions running at once (other
suites, CI shards) would fight over the same addresses."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest

from lab.cluster import Lab

_k = itertools.count(1)


@pytest.fixture
def rb_lab(etcd_bins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Callable[..., Lab]]:
    """`make(ssh=False, etcd=None) -> Lab`, started; every lab made is brought down at teardown."""
    labs: list[Lab] = []

    def make(ssh: bool = False, etcd: str | None = None) -> Lab:
        net = f"127.{200 + os.getpid() % 50}.{next(_k)}"
        lab = Lab(tmp_path_factory.mktemp("rblab"), ssh=ssh, net=net, etcd=etcd)
        labs.append(lab)
        lab.up()
        return lab

    yield make
    for lab in labs:
        lab.down()
