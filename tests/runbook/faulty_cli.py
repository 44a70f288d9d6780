"""The real `blackstart` CLI with test-only fault hooks (never installed, never in the
package): `python tests/runbook/faulty_cli.py [--kill-after STEP] [--free-bytes N] -- ARGS`.

--kill-after STEP   SIGKILL this process once STEP is journaled done (a step id, its
                    1-based index, or the id without its number prefix, e.g. aside-etcd2)
--free-bytes N      every node reports N bytes free to the restore's disk check
--pause-after STEP  once STEP is journaled done, create PATH.paused and wait (≤ 600 s) for
--pause-file PATH   PATH.go before the next step: the test breaks something meanwhile
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from blackstart.cli import cli
from blackstart.runbook.hooks import Hooks
from blackstart.runbook.plan import Step

PAUSE_LIMIT = 600.0


def _is(want: str | None, index: int, step: Step) -> bool:
    return bool(want) and want in (step.id, str(index + 1), step.id.split("-", 1)[-1])


class FaultHooks(Hooks):
    def __init__(self, kill_after: str | None, free: int | None,
                 pause_after: str | None = None, pause_file: str | None = None) -> None:
        self.kill_after, self.free = kill_after, free
        self.pause_after, self.pause_file = pause_after, pause_file

    def after_step(self, index: int, step: Step) -> None:
        if _is(self.kill_after, index, step):
            os.kill(os.getpid(), signal.SIGKILL)
        if self.pause_file and _is(self.pause_after, index, step):
            self._pause(step)

    def _pause(self, step: Step) -> None:
        """Blocks the plan's loop on purpose: nothing runs until the test says go."""
        base = str(self.pause_file)
        Path(base + ".paused").write_text(step.id)
        go, deadline = Path(base + ".go"), time.monotonic() + PAUSE_LIMIT
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    def free_bytes(self, node: str, path: str) -> int | None:
        return self.free


def main(argv: list[str]) -> None:
    sep = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="faulty_cli")
    parser.add_argument("--kill-after")
    parser.add_argument("--free-bytes", type=int)
    parser.add_argument("--pause-after")
    parser.add_argument("--pause-file")
    opts = parser.parse_args(argv[:sep])
    hooks = FaultHooks(opts.kill_after, opts.free_bytes, opts.pause_after, opts.pause_file)
    cli.main(args=argv[sep + 1:], prog_name="blackstart", obj=hooks)


if __name__ == "__main__":
    main(sys.argv[1:])
