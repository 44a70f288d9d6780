"""The real `blackstart` CLI with test-only fault hooks (never installed, never in the
package): `python tests/runbook/faulty_cli.py [--kill-after STEP] [--free-bytes N] -- ARGS`.

--kill-after STEP   SIGKILL this process once STEP is journaled done (a step id, its
                    1-based index, or the id without its number prefix, e.g. aside-etcd2)
--free-bytes N      every node reports N bytes free to the restore's disk check
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from blackstart.cli import cli
from blackstart.runbook.hooks import Hooks
from blackstart.runbook.plan import Step


class FaultHooks(Hooks):
    def __init__(self, kill_after: str | None, free: int | None) -> None:
        self.kill_after, self.free = kill_after, free

    def after_step(self, index: int, step: Step) -> None:
        want = self.kill_after
        if want and want in (step.id, str(index + 1), step.id.split("-", 1)[-1]):
            os.kill(os.getpid(), signal.SIGKILL)

    def free_bytes(self, node: str, path: str) -> int | None:
        return self.free


def main(argv: list[str]) -> None:
    sep = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="faulty_cli")
    parser.add_argument("--kill-after")
    parser.add_argument("--free-bytes", type=int)
    opts = parser.parse_args(argv[:sep])
    hooks = FaultHooks(opts.kill_after, opts.free_bytes)
    cli.main(args=argv[sep + 1:], prog_name="blackstart", obj=hooks)


if __name__ == "__main__":
    main(sys.argv[1:])
