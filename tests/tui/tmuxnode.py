"""The cockpit as an operator runs it: `blackstart` with no options, in tmux, inside a
kubeadm-lab node (nsenter into its namespaces, as an SSH session there would be). The
test reads the screen with `tmux capture-pane` and types with `tmux send-keys`; nothing
of the app runs in the test process.

Helpers, not fixtures: `TmuxCockpit(lab, node)`; `stop()` kills the session if a test
failed before `q`.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from typing import Any

import psutil
from labnet import missing

SESSION = "blackstart"
WIDTH, HEIGHT = 180, 100  # tall enough that the findings list shows its first ~12


def need_tmux() -> None:
    if shutil.which("tmux") is None:
        missing("tmux")


class TmuxCockpit:
    def __init__(self, lab: Any, node: str = "master01") -> None:
        self.lab, self.node = lab, node
        self.host_pids: set[int] = set()

    def tmux(self, *args: str) -> Any:
        return self.lab.node_run(self.node, ["tmux", *args], timeout=30)

    def start(self, *argv: str) -> None:
        r = self.tmux("new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT),
                      # the test runner's COLUMNS/LINES (set under pytest) are not the
                      # operator's: left in, the app would size itself by them
                      "env", "-u", "COLUMNS", "-u", "LINES", "blackstart", *argv)
        assert r.returncode == 0, r.stderr
        # a detached session keeps tmux's default size whatever -x/-y said: set it
        r = self.tmux("resize-window", "-t", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT))
        assert r.returncode == 0, r.stderr

    def screen(self) -> str:
        r = self.tmux("capture-pane", "-p", "-t", SESSION)
        return str(r.stdout) if r.returncode == 0 else ""

    def wait(self, *texts: str, timeout: float = 180.0) -> str:
        """The screen once it shows every one of `texts` (a bounded poll)."""
        deadline, shown = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if all(t in shown for t in texts):
                return shown
            time.sleep(0.5)
        missing_texts = [t for t in texts if t not in shown]
        size = self.tmux("display-message", "-p", "-t", SESSION,
                         "#{window_width}x#{window_height}").stdout.strip()
        raise AssertionError(f"never on screen: {missing_texts}\n--- screen ({size})\n{shown}")

    def wait_refreshing(self, text: str, rounds: int = 3, timeout: float = 120.0) -> str:
        """The screen once `text` shows (whitespace and banner bars ignored), pressing `r`
        between rounds: on a loaded machine a first probe round can time out on a node,
        and the operator refreshes."""
        deadline = time.monotonic() + timeout * rounds
        shown = ""
        for _ in range(rounds):
            end = min(deadline, time.monotonic() + timeout)
            while time.monotonic() < end:
                shown = self.screen()
                if text in flat(shown):
                    return shown
                time.sleep(0.5)
            self.keys("r")
        raise AssertionError(f"never on screen: {text!r}\n--- screen\n{shown}")

    def keys(self, *keys: str) -> None:
        for k in keys:  # one send-keys per key: Textual sees them as separate presses
            r = self.tmux("send-keys", "-t", SESSION, k)
            assert r.returncode == 0, r.stderr
            time.sleep(0.2)

    def type(self, text: str) -> None:
        r = self.tmux("send-keys", "-t", SESSION, "-l", text)
        assert r.returncode == 0, r.stderr

    def remember_processes(self) -> set[int]:
        """Host pids of the app and everything it started (workers), to prove `q` ends
        them all."""
        r = self.tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}")
        nspid = int(r.stdout.strip())
        pid = self.lab.ns_to_host_pid(self.node, nspid)
        assert pid is not None, f"pane pid {nspid} not found on the host"
        p = psutil.Process(pid)
        self.host_pids = {pid, *(c.pid for c in p.children(recursive=True))}
        return self.host_pids

    def quit(self, timeout: float = 60.0) -> None:
        """`q` on the main screen (its footer lists it); the session ends with the app."""
        self.wait("q Quit", timeout=60)
        self.keys("q")
        deadline = time.monotonic() + timeout
        while self.session_alive() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not self.session_alive(), f"still running after q:\n{self.screen()}"

    def session_alive(self) -> bool:
        return self.tmux("has-session", "-t", SESSION).returncode == 0

    def wait_without(self, text: str, timeout: float = 30.0) -> str:
        """The screen once `text` has left it (a bounded poll: keys take a while to land
        on a loaded machine)."""
        deadline, shown = time.monotonic() + timeout, self.screen()
        while text in shown and time.monotonic() < deadline:
            time.sleep(0.3)
            shown = self.screen()
        assert text not in shown, f"still on screen after {timeout:g}s: {text!r}\n{shown}"
        return shown

    def wait_gone(self, timeout: float = 30.0) -> list[int]:
        """Host pids still alive (not zombies) after `timeout`; [] once all ended."""
        deadline = time.monotonic() + timeout
        while True:
            alive = [p for p in self.host_pids if _alive(p)]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.3)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.tmux("kill-server")


def flat(screen: str) -> str:
    """The screen's words in one line: wrapped text compares as written."""
    return " ".join(screen.replace("█", " ").split())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
