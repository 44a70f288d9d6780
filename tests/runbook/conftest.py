"""Runbook lab fixtures: `rb_lab` is the shared `lab_factory` (which claims a free net per
lab, so parallel runs never collide), under the name the runbook tests use."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from blackstart.lab.cluster import Lab


@pytest.fixture
def rb_lab(lab_factory: Callable[..., Lab]) -> Callable[..., Lab]:
    """`make(ssh=False, etcd=None) -> Lab`, started; brought down at teardown."""
    return lab_factory
