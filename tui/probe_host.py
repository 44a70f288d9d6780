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

import atexit
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from blackstart.checks.model import Cluster
from blackstart.tui.probe_delta import Encoder, decode
from blackstart.tui.probing import PROBE_TIMEOUT, ProbeTimedOut

_CHILD_POOL = 4  # parser workers per lane in one probe's child
_CHILD_NICE = 5  # probe children run at this much lower priority than the cockpit
_PRELOAD = ["blackstart.checks.probes.engine", "blackstart.tui.probing",
            "blackstart.runbook.verify_cache"]


def _context() -> ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


@contextmanager
def _real_stderr() -> Iterator[None]:
    """A real file descriptor as sys.stderr while the fork server or its resource tracker start.

    Textual replaces sys.stderr with a capture whose fileno() is -1 while the app runs, and
    multiprocessing hands sys.stderr.fileno() to the resource tracker it spawns: every
    probe then failed with "bad value(s) in fds_to_keep" and the cockpit stayed empty.
    The helpers' own stderr goes to /dev/null, never onto the operator's screen."""
    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        yield
        return
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stderr = null
        try:
            yield
        finally:
            sys.stderr = saved


def _start_server() -> None:
    """Start the fork server (and its resource tracker) now, before any UI owns stderr."""
    from multiprocessing import forkserver

    with _real_stderr():
        forkserver.ensure_running()


def _serve(conn: Connection, name: str, state_dir: str | None, read_only: bool) -> None:
    """The child: run probe `name` for each request until the pipe closes."""
    from blackstart.checks.probes import workers
    from blackstart.checks.probes.registry import SPECS
    from blackstart.runbook.verify_cache import VerifyCache

    # Dies with the fork server, which ends with the cockpit (even a SIGKILLed one: its
    # "alive" pipe closes); a cockpit that closes our pipe ends the loop below. Never
    # writes onto the operator's terminal.
    workers.die_with_parent(os.getppid())
    workers.cap_workers(_CHILD_POOL)
    lanes = next((s.lanes for s in SPECS if s.name == name), ())
    if lanes:  # forked from this main thread, before any probe thread runs a child
        workers.prestart(lanes)
    cache: dict[str, Any] = {}
    store = VerifyCache(state_dir, read_only=read_only) if state_dir else None
    _lower_priority()
    try:
        _loop(conn, name, cache, store)
    finally:
        workers.shutdown()  # its parsers end with it (never joined while still idle)


def _lower_priority() -> None:
    """Probes yield the CPU to the cockpit: on a loaded master the keys stay answered and
    the probes take a little longer (their parser workers inherit it)."""
    try:
        os.nice(_CHILD_NICE)
    except OSError:
        pass


def _loop(conn: Connection, name: str, cache: dict[str, Any], store: Any) -> None:
    """Run probe `name` for each request until the pipe closes."""
    from blackstart.checks.probes.engine import PROBES
    from blackstart.tui.probing import run_probe

    encoder = Encoder()
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            return
        cluster, clock, timeout = req
        try:
            results = run_probe(PROBES[name], cluster, clock, cache, timeout, store=store)
            reply: tuple[str, Any] = ("ok", encoder.encode(results))
        except BaseException as exc:  # noqa: BLE001 - handed to the UI as the probe's error
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or error
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
            encoder.forget()
        else:
            if reply[0] == "ok":
                encoder.sent()


class ProbeHost:
    def __init__(self, names: list[str], state_dir: str | None, read_only: bool) -> None:
        self.names = set(names)
        self.state_dir, self.read_only = state_dir, read_only
        self._ctx = _context()
        _start_server()
        self._procs: dict[str, tuple[BaseProcess, Connection]] = {}
        self._last: dict[str, list[Any]] = {}  # each child's last answer (probe_delta)
        self._lock = threading.Lock()
        # Before multiprocessing's own exit hook, which would join (wait for) every child.
        atexit.register(self.close)

    def _child(self, name: str) -> tuple[BaseProcess, Connection]:
        with self._lock:
            got = self._procs.get(name)
            if got is not None and got[0].is_alive():
                return got
            parent, child = self._ctx.Pipe()
            proc = self._ctx.Process(target=_serve, name=f"blackstart-probe-{name}",
                                     args=(child, name, self.state_dir, self.read_only),
                                     # not daemonic: a probe's parsers run in its own pool
                                     daemon=False)
            with _real_stderr():  # a fork server that died is restarted from here
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
        refs, fresh = value
        try:
            results = decode(refs, fresh, self._last.get(name, []))
        except (IndexError, StopIteration, TypeError) as exc:  # out of step: start afresh
            self._stop(name)
            raise ProbeTimedOut(f"the probe process answered out of step ({exc})") from exc
        self._last[name] = results
        return results

    def _stop(self, name: str) -> None:
        with self._lock:
            got = self._procs.pop(name, None)
            self._last.pop(name, None)  # a fresh child sends everything whole
        if got is not None:
            got[1].close()
            got[0].terminate()
            got[0].join(5)

    def close(self) -> None:
        for name in list(self._procs):
            self._stop(name)
