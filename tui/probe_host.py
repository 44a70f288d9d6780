"""The engine's probes run in child processes, one per probe, so the UI's GIL is its own.

A probe run in a thread of the TUI still holds the interpreter lock while it parses
(metrics text, log lines, certificates, grpc marshalling): every key press waits for it.
Here each real probe lives in a child process (started from a clean fork server, not
forked from the running UI) that keeps its own in-memory cache between runs and reads
and writes the state dir's verification cache; the UI's worker thread only sends the
request and waits on the pipe, which releases the lock.

A probe that does not answer within its timeout has its process stopped (a stuck call to
a blackholed member dies with it); the next run starts a fresh one.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from blackstart.checks.model import Cluster
from blackstart.tui.probing import PROBE_TIMEOUT, ProbeTimedOut

_PRELOAD = ["blackstart.checks.probes.engine", "blackstart.tui.probing",
            "blackstart.runbook.verify_cache"]


def _context() -> ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _serve(conn: Connection, name: str, state_dir: str | None, read_only: bool) -> None:
    """The child: run probe `name` for each request until the pipe closes."""
    from blackstart.checks.probes.engine import PROBES
    from blackstart.runbook.verify_cache import VerifyCache
    from blackstart.tui.probing import run_probe

    cache: dict[str, Any] = {}
    store = VerifyCache(state_dir, read_only=read_only) if state_dir else None
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            return
        cluster, clock, timeout = req
        try:
            reply: tuple[str, Any] = ("ok", run_probe(PROBES[name], cluster, clock, cache,
                                                      timeout, store=store))
        except BaseException as exc:  # noqa: BLE001 - handed to the UI as the probe's error
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or error
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class ProbeHost:
    def __init__(self, names: list[str], state_dir: str | None, read_only: bool) -> None:
        self.names = set(names)
        self.state_dir, self.read_only = state_dir, read_only
        self._ctx = _context()
        self._procs: dict[str, tuple[BaseProcess, Connection]] = {}
        self._lock = threading.Lock()

    def _child(self, name: str) -> tuple[BaseProcess, Connection]:
        with self._lock:
            got = self._procs.get(name)
            if got is not None and got[0].is_alive():
                return got
            parent, child = self._ctx.Pipe()
            proc = self._ctx.Process(target=_serve, name=f"blackstart-probe-{name}",
                                     args=(child, name, self.state_dir, self.read_only),
                                     daemon=True)
            proc.start()
            child.close()
            self._procs[name] = (proc, parent)
            return proc, parent

    def run(self, name: str, cluster: Cluster, clock: Callable[[], float],
            timeout: float = PROBE_TIMEOUT) -> list[Any]:
        """Blocking (call from a worker thread): the probe's results, or its error."""
        proc, conn = self._child(name)
        conn.send((cluster, clock, timeout))
        if not conn.poll(timeout + 10):  # the start-up of a fresh child, then the run
            self._stop(name)
            raise ProbeTimedOut(f"no answer within {timeout:.0f}s")
        try:
            kind, value = conn.recv()
        except (EOFError, OSError) as exc:
            self._stop(name)
            raise ProbeTimedOut(f"the probe process ended ({exc or 'no reply'})") from exc
        if kind == "error":
            raise value
        return list(value)

    def _stop(self, name: str) -> None:
        with self._lock:
            got = self._procs.pop(name, None)
        if got is not None:
            got[1].close()
            got[0].terminate()

    def close(self) -> None:
        for name in list(self._procs):
            self._stop(name)
