"""PID 1 of a lab node's PID namespace: starts the node's sshd and kubelet, reaps orphans.

    python -m blackstart.lab.nodeinit --node master01 [--sshd-config /etc/ssh/sshd_config]

It is the namespace's anchor (`lab shell` nsenters through its pid). The kubelet is
restarted if it dies (systemd's Restart=always on a real master); sshd is started once, so
a stopped sshd stays stopped (an unreachable node). SIGTERM: the kubelet is asked to stop
its pods, then init exits and the kernel kills whatever is left in the namespace. A
SIGKILL of this process from outside is a power cut: everything in the node dies at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

KUBELET_RESTART = 1.0


class _Stop(Exception):
    pass


def _raise_stop(*_: Any) -> None:
    raise _Stop


def start_sshd(config: str) -> None:
    # sshd forks into the background; the child is reparented to us and reaped below.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    subprocess.run(["/usr/sbin/sshd", "-f", config, "-E", "/var/log/sshd.log"], check=False,
                   timeout=30, stdin=subprocess.DEVNULL)


def kubelet_argv(node: str) -> list[str]:
    # "kubelet" in argv next to --node: how blackstart's process probe names a stand-in.
    return [sys.executable, "-m", "blackstart.lab.kubelet", "kubelet", "--node", node]


def _reap_until(deadline: float, pid: int) -> bool:
    """Reap children until `pid` has been reaped or the deadline passes."""
    while time.monotonic() < deadline:
        try:
            got, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if got == pid:
            return True
        if got == 0:
            time.sleep(0.05)
    return False


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="blackstart.lab.nodeinit")
    p.add_argument("--node", required=True)
    p.add_argument("--sshd-config", default="")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    kubelet: subprocess.Popen[bytes] | None = None
    try:
        if args.sshd_config:
            start_sshd(args.sshd_config)
        kubelet = subprocess.Popen(kubelet_argv(args.node), stdin=subprocess.DEVNULL)
        for _ in range(10_000_000):
            pid, _status = os.wait()
            if pid == kubelet.pid:
                time.sleep(KUBELET_RESTART)
                kubelet = subprocess.Popen(kubelet_argv(args.node), stdin=subprocess.DEVNULL)
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if kubelet is not None:
            with contextlib.suppress(OSError):
                kubelet.send_signal(signal.SIGTERM)
            _reap_until(time.monotonic() + 25.0, kubelet.pid)
    # Exiting as PID 1 makes the kernel SIGKILL every process left in the namespace.


if __name__ == "__main__":
    main()
