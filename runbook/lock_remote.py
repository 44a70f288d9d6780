"""The runbook lock on another node, over SSH: a `flock` held by a process on that node for
the life of the plan.

A plan that changes a remote node must keep a second operator, acting from that node (or
from a third one), out of it. The lock there is the same kernel lock as on this machine
(`<state_dir>/lock`, see `runbook.lock`): a small POSIX sh script on the node opens the
lock file, takes `flock -n` on it, writes this plan's holder record into it and then waits
for one line on its stdin, which is our SSH channel. The record goes *into* the lock file,
in place, never through a temp file and rename: a renamed-in file is a new inode, and a
second inode lets two holders in at once (the old race `runbook.lock` describes).

The lock dies with the session: when this process ends, SIGKILL included, the kernel
closes its TCP connection, sshd closes the channel, the script's `read` sees end of file
and it exits, so the kernel drops the flock on the node. Nobody guesses at PIDs. A clean
release sends `release`, and only then does the script clear the record; a holder that
died leaves its record for the next one (and `blackstart unlock`) to name.

The script is a constant; the only data it gets is the lock file's path, as a quoted
argument, and the record, as a line on stdin: no shell string is ever built from data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
from dataclasses import dataclass
from typing import Any

from blackstart.checks.model import Node
from blackstart.checks.nodes import NodeError
from blackstart.runbook.lock import LockHeld, parse_holder
from blackstart.runbook.preflight import PlanRefused

# $1: the lock file; $2: "hold" (take it for the plan) or "clear" (unlock: take it, print
# and clear the record a dead holder left, let go). First output line: locked | busy | free
# | refused: WHY. After busy/free: the record found in the file. While held, each `ping`
# line is answered `pong` (the plan asks before each step on the node); end of file
# (the session lost) lets go and keeps the record, `release` clears it first.
LOCK_SCRIPT = r"""umask 077
f=$1
if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then
  echo "refused: $f is not a regular file; refusing to lock through it"; exit 72
fi
exec 9>>"$f" || { echo "refused: cannot open $f"; exit 71; }
chmod 600 "$f"
if ! flock -n 9; then echo busy; head -c 65536 "$f"; exit 75; fi
if [ "$2" = clear ]; then echo free; head -c 65536 "$f"; : >"$f"; exit 0; fi
IFS= read -r rec || exit 74
printf '%s\n' "$rec" >"$f"
echo locked
while IFS= read -r cmd; do
  case $cmd in
    ping) echo pong ;;
    release) : >"$f"; exit 0 ;;
  esac
done
exit 0
"""
ANSWER_TIMEOUT = 20.0
RELEASE_TIMEOUT = 10.0
PING_TIMEOUT = 10.0


def lock_command(path: str, mode: str) -> str:
    """The command line sent to sshd: the constant script, the path quoted."""
    return shlex.join(["sh", "-c", LOCK_SCRIPT, "blackstart-lock", path, mode])


@dataclass(frozen=True)
class Answer:
    """What the node's lock script said first: locked, busy (held by `holder`), free (was
    free; `holder` is the record a dead holder left, or None) or refused (`why`)."""

    state: str
    holder: dict[str, Any] | None = None
    why: str = ""


def parse_answer(first_line: str, rest: str = "") -> Answer:
    """Pure: the script's first line and whatever followed it (the record)."""
    word = first_line.strip()
    if word == "locked":
        return Answer("locked")
    if word in ("busy", "free"):
        holder = parse_holder(rest)
        if word == "busy" and holder is None:
            holder = {"plan": "?"}  # taken an instant ago, record not yet written
        return Answer(word, holder)
    if word.startswith("refused:"):
        return Answer("refused", why=word.removeprefix("refused:").strip())
    return Answer("refused", why=f"unexpected answer {word[:200]!r}" if word
                  else "the lock script ended without an answer (is flock(1) installed?)")


def holder_line(holder: dict[str, Any]) -> str:
    """The record as the one line the script expects on stdin."""
    return json.dumps(holder, separators=(",", ":"), ensure_ascii=True) + "\n"


def remote_path(node: str, path: str) -> str:
    return f"{node}:{path}"


class RemoteLock:
    """The held lock on one node: its own SSH connection, its script waiting on stdin."""

    def __init__(self, node: str, path: str, client: Any, process: Any) -> None:
        self.node, self.path = node, path
        self.client, self.process = client, process
        self.released = False

    async def lost(self) -> bool:
        """Is the lock on the node no longer ours? Asked of the node itself (ping, pong
        within PING_TIMEOUT): a session that ended, or a script that is gone, is lost."""
        p = self.process
        try:
            if p.exit_status is not None or p.channel.is_closing():
                return True
            p.stdin.write("ping\n")
            answer = await asyncio.wait_for(p.stdout.readline(), PING_TIMEOUT)
        except Exception:  # noqa: BLE001 - a torn-down channel or no answer: lost
            return True
        return bool(answer.strip() != "pong")

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        with contextlib.suppress(Exception):
            self.process.stdin.write("release\n")
            self.process.stdin.write_eof()
            await asyncio.wait_for(self.process.wait(), RELEASE_TIMEOUT)
        with contextlib.suppress(Exception):
            await self.client.close()


async def _start(client: Any, path: str, mode: str) -> Any:
    conn = await client._connection()
    return await asyncio.wait_for(
        conn.create_process(lock_command(path, mode), encoding="utf-8", errors="replace"),
        ANSWER_TIMEOUT)


async def _answer(process: Any) -> Answer:
    first = await asyncio.wait_for(process.stdout.readline(), ANSWER_TIMEOUT)
    rest = ""
    if first.strip() in ("busy", "free"):
        rest = await asyncio.wait_for(process.stdout.read(), ANSWER_TIMEOUT)
    return parse_answer(first, rest)


def _unreachable(node: str, exc: BaseException) -> PlanRefused:
    return PlanRefused(f"cannot take the runbook lock on {node}: {exc} (a plan that changes "
                       f"{node} needs its lock; nothing was changed)")


async def acquire_remote(node: Node, state_dir: str, holder: dict[str, Any]) -> RemoteLock:
    """Take `<state_dir>/lock` on `node` for `holder`. LockHeld (naming the node and the
    live holder's record) when another process holds it; PlanRefused when the node
    cannot be locked (unreachable, no flock(1), the path is not a regular file)."""
    from blackstart.runbook.node_writer import connect_writer

    path = f"{state_dir.rstrip('/')}/lock"
    client = connect_writer(node)
    try:
        await client.makedirs(state_dir)
        process = await _start(client, path, "hold")
        process.stdin.write(holder_line(holder))
        ans = await _answer(process)
    except (NodeError, OSError, TimeoutError) as exc:
        await client.close()
        raise _unreachable(node.name, exc) from exc
    except BaseException:
        await client.close()
        raise
    if ans.state == "locked":
        return RemoteLock(node.name, path, client, process)
    await client.close()
    if ans.state == "busy":
        raise LockHeld(ans.holder or {}, remote_path(node.name, path), node=node.name)
    raise PlanRefused(f"cannot take the runbook lock {remote_path(node.name, path)}: "
                      f"{ans.why}")


async def clear_remote(node: Node, state_dir: str) -> Answer:
    """`blackstart unlock` on one node: `free` with the record a dead holder left (now
    cleared), or `busy` with the live holder (never broken), or `refused`."""
    from blackstart.runbook.node_writer import connect_writer

    path = f"{state_dir.rstrip('/')}/lock"
    client = connect_writer(node)
    try:
        if await client.stat(state_dir) is None:
            return Answer("free")
        process = await _start(client, path, "clear")
        process.stdin.write_eof()
        return await _answer(process)
    except (NodeError, OSError, TimeoutError) as exc:
        return Answer("refused", why=str(exc) or type(exc).__name__)
    finally:
        await client.close()
