"""Stand-ins for kube-controller-manager and kube-scheduler: real processes that run and log.

They exist so that "restart the control plane" restarts real processes a probe can see
(argv carries the component and its node, like the real ones' flags). Every ~10 s they
write one klog line in CRI format. Run as:

    python -m blackstart.lab.standin kube-scheduler --node etcd1 --log FILE --pidfile FILE
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from blackstart.lab.crilog import open_writer
from blackstart.lab.klog import klog_line

COMPONENTS = ("kube-controller-manager", "kube-scheduler")


def run(args: argparse.Namespace) -> None:
    log = open_writer(args.log)
    log.write(klog_line("I", f'"Starting {args.component}" node="{args.node}"', "server.go:148"))
    for n in range(args.max_ticks):
        time.sleep(args.interval)
        if args.pidfile and not Path(args.pidfile).exists():
            break  # the lab forgot us: never linger as an orphan
        log.write(klog_line("I", f'"still running" component="{args.component}" tick={n + 1}',
                            "leaderelection.go:258"))
    log.close()


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    p = argparse.ArgumentParser(prog="blackstart.lab.standin")
    p.add_argument("component", choices=COMPONENTS)
    p.add_argument("--node", required=True)
    p.add_argument("--log", required=True, type=Path)
    p.add_argument("--pidfile", default="")
    p.add_argument("--interval", type=float, default=10.0)
    p.add_argument("--max-ticks", type=int, default=10_000_000)
    run(p.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
