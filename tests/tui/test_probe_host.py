"""The cockpit's probe children, as the real TUI runs them: started while Textual owns
sys.stderr (a capture whose fileno() is -1), each probe in its own process whose parsers
run in that process's own worker pool.

Both broke the cockpit on a real lab (every panel empty; then every backup and member
database reported "not a valid bbolt file" because the verifying workers were killed):
these run in a fresh interpreter, so no fork server left by another test hides it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys, time

class TextualCapture:  # what Textual puts in sys.stderr while an app runs
    def write(self, s): return len(s)
    def flush(self): pass
    def fileno(self): return -1

from blackstart.checks.model import Cluster, Node
from blackstart.tui.probe_host import ProbeHost

backups = sys.argv[1]
host = ProbeHost(["snapshots"], None, True)
sys.stderr = TextualCapture()
try:
    cluster = Cluster("t", (Node("here", backup_dirs=(backups,)),), ())
    infos = host.run("snapshots", cluster, time.time, timeout=60)
    print(json.dumps([[i.path, i.state, i.error] for i in infos]))
finally:
    host.close()
"""


def _run(tmp_path: Path, *args: str) -> list[list[str]]:
    r = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                       timeout=120, check=False, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    return list(json.loads(r.stdout.splitlines()[-1]))


def test_probe_child_verifies_a_backup_while_stderr_is_captured(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "checks"))
    from test_bbolt import build_db, etcd_like

    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "good.db").write_bytes(build_db(etcd_like()))
    (backups / "torn.db").write_bytes(build_db(etcd_like())[:5000])
    got = {Path(p).name: (state, err) for p, state, err in _run(tmp_path, str(backups))}
    assert got["good.db"][0] == "ok", got
    assert got["torn.db"][0] == "bad", got  # a real verdict, from the child's own workers
