"""`blackstart check` and the cockpit load only their own command module: the runbook's
commands (plan runner, journals, restore preflight) and the lab's are imported by the
commands that use them, not by every start-up (blackstart.cli._OWN_MODULE)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, sys
from click.testing import CliRunner
from blackstart.cli import cli

out = {}
for argv in (["check", "--help"], ["tui", "--help"], ["snapshot", "save", "--help"]):
    res = CliRunner().invoke(cli, argv)
    loaded = [m for m in ("blackstart.cli.plan_runner", "blackstart.runbook.preflight",
                          "blackstart.cli.lab") if m in sys.modules]
    out[" ".join(argv[:-1])] = [res.exit_code, loaded]
print(json.dumps(out))
"""


def test_check_and_tui_start_without_the_runbook_commands() -> None:
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.splitlines()[-1])
    assert got["check"] == [0, []]
    assert got["tui"] == [0, []]
    code, loaded = got["snapshot save"]  # a runbook command still finds its module
    assert code == 0 and "blackstart.cli.plan_runner" in loaded
