"""The kill matrices' bounded form in the normal suite (no lab here): without
BLACKSTART_KILL_MATRIX the first, middle and last boundary run, deterministically; with it,
every one; and no matrix test carries a skip mark, so CI=true never skips them silently
(a missing etcd or etcdctl fails under CI through tests/labnet.py missing())."""

from __future__ import annotations

import importlib

import killmatrix
import pytest

MATRICES = {"test_kill_matrix_lab": "test_restore_killed_at_step_boundaries",
            "test_kill_matrix_renew_lab": "test_renew_killed_at_step_boundaries",
            "test_sshd_killed_kubeadm_lab": "test_sshd_of_one_node_killed_mid_restore"}


def test_sample_is_first_middle_last_and_full_is_every_boundary(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(killmatrix, "FULL", False)
    assert killmatrix.boundaries(37) == [1, 19, 37]
    assert killmatrix.boundaries(10) == [1, 5, 10]
    assert killmatrix.boundaries(2) == [1, 2]
    assert killmatrix.boundaries(37) == killmatrix.boundaries(37)  # deterministic
    monkeypatch.setattr(killmatrix, "FULL", True)
    assert killmatrix.boundaries(37) == list(range(1, 38))
    monkeypatch.setattr(killmatrix, "SPAN", "29-40")  # a slice of the full matrix
    assert killmatrix.boundaries(37) == list(range(29, 38))


def _marks(obj: object) -> list[str]:
    marks = getattr(obj, "pytestmark", [])
    return [m.name for m in (marks if isinstance(marks, list) else [marks])]


@pytest.mark.parametrize("module", sorted(MATRICES))
def test_matrix_tests_are_never_skipped_by_a_mark(module: str) -> None:
    mod = importlib.import_module(module)
    marks = _marks(mod) + _marks(getattr(mod, MATRICES[module]))
    assert "lab" in marks and "parametrize" in marks, (module, marks)
    assert not {"skip", "skipif", "xfail"} & set(marks), (module, marks)
