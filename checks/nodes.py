"""One interface to a node: run an argv, read a file, list a dir, stat — locally or over SSH.

Every call has a timeout. Remote commands are built with `shlex.join`, never by pasting
strings. SSH honours OpenSSH known_hosts: an unknown or changed host key raises
`NodeError(kind="hostkey")`, never a silent accept.

This module is the read side only (`NodeReader`: run a read-only argv, read, list, stat,
now). Write access is a separate capability: `blackstart.runbook.node_writer.NodeWriter`
(write, rename, makedirs, put/get) extends these readers, and `checks` cannot import it
(an import-linter contract in pyproject.toml holds that).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat as stat_mod
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from blackstart.checks.errors import BlackstartError
from blackstart.checks.formats.regular import open_regular
from blackstart.checks.model import Node

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0


class NodeError(BlackstartError):
    """A node could not be reached or a call on it failed. `kind` classifies why."""

    def __init__(self, node: str, message: str, kind: str = "error") -> None:
        super().__init__(message, where=node)
        self.node = node
        self.message = message
        self.kind = kind  # error | timeout | unreachable | hostkey | auth | missing


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: bytes
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class FileStat:
    path: str
    size: int
    mtime: float
    is_dir: bool
    mode: int


@dataclass(frozen=True)
class DirEntry:
    name: str
    path: str
    size: int
    mtime: float
    is_dir: bool
    mode: int = 0  # st_mode with the file type bits; 0 when the transport does not say


class NodeReader:
    """Read access to one node; subclasses implement the primitives."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.name = node.name

    async def run(
        self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None
    ) -> RunResult:
        raise NotImplementedError

    async def read_file(
        self, path: str, max_bytes: int | None = None, offset: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        """Read `max_bytes` from `offset`; a negative offset counts from the end."""
        raise NotImplementedError

    async def stat(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> FileStat | None:
        raise NotImplementedError

    async def list_dir(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> list[DirEntry]:
        raise NotImplementedError

    async def now(self, timeout: float = DEFAULT_TIMEOUT) -> float:
        """The node's wall clock (epoch seconds)."""
        raise NotImplementedError

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> NodeReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _err(self, message: str, kind: str = "error") -> NodeError:
        return NodeError(self.name, message, kind)


async def deadline(coro: Awaitable[T], timeout: float, client: NodeReader, what: str) -> T:
    try:
        return await asyncio.wait_for(coro, timeout)
    except TimeoutError as exc:
        raise client._err(f"{what}: no answer within {timeout:g}s", "timeout") from exc


async def in_thread(fn: Callable[[], T], timeout: float, client: NodeReader, what: str) -> T:
    """`fn` in a worker thread, its deadline counted from when the thread starts it: a
    local stat or listing that waited for a free thread or a CPU (a loaded master, the
    probes at a lower priority) has not been refused an answer by the disk. The wait for a
    thread is bounded by the caller's own probe budget."""
    loop = asyncio.get_running_loop()
    started = asyncio.Event()

    def run() -> T:
        loop.call_soon_threadsafe(started.set)
        return fn()

    task = asyncio.ensure_future(asyncio.to_thread(run))
    try:
        await started.wait()
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except TimeoutError as exc:
        raise client._err(f"{what}: no answer within {timeout:g}s", "timeout") from exc
    finally:
        if not task.done():
            task.cancel()  # our await ends; the thread finishes on its own


# --------------------------------------------------------------------------- local


class LocalNode(NodeReader):
    async def run(
        self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None
    ) -> RunResult:
        start = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise self._err(f"cannot run {argv[0]}: {exc.strerror or exc}", "missing") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise self._err(f"{shlex.join(argv)}: timed out after {timeout:g}s", "timeout") from exc
        return RunResult(tuple(argv), proc.returncode or 0, out, err, time.monotonic() - start)

    async def read_file(
        self, path: str, max_bytes: int | None = None, offset: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        return await in_thread(lambda: self._read(path, max_bytes, offset), timeout, self,
                               f"read {path}")

    def _read(self, path: str, max_bytes: int | None, offset: int) -> bytes:
        try:
            with open(open_regular(path), "rb") as fh:  # a FIFO would block the open
                if offset < 0:
                    size = os.fstat(fh.fileno()).st_size
                    fh.seek(max(0, size + offset))
                elif offset:
                    fh.seek(offset)
                return fh.read() if max_bytes is None else fh.read(max_bytes)
        except FileNotFoundError as exc:
            raise self._err(f"{path}: no such file", "missing") from exc
        except OSError as exc:
            raise self._err(f"{path}: {exc.strerror or exc}") from exc

    async def stat(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> FileStat | None:
        def _stat() -> FileStat | None:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise self._err(f"{path}: {exc.strerror or exc}") from exc
            return FileStat(path, st.st_size, st.st_mtime, stat_mod.S_ISDIR(st.st_mode), st.st_mode)

        return await in_thread(_stat, timeout, self, f"stat {path}")

    async def list_dir(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> list[DirEntry]:
        def _list() -> list[DirEntry]:
            try:
                entries = []
                with os.scandir(path) as it:
                    for e in it:
                        try:
                            st = e.stat()
                        except OSError:
                            continue
                        entries.append(DirEntry(e.name, e.path, st.st_size, st.st_mtime,
                                                stat_mod.S_ISDIR(st.st_mode), st.st_mode))
                return sorted(entries, key=lambda d: d.name)
            except FileNotFoundError as exc:
                raise self._err(f"{path}: no such directory", "missing") from exc
            except OSError as exc:
                raise self._err(f"{path}: {exc.strerror or exc}") from exc

        return await in_thread(_list, timeout, self, f"list {path}")

    async def now(self, timeout: float = DEFAULT_TIMEOUT) -> float:
        return time.time()

# --------------------------------------------------------------------------- ssh


class SSHNode(NodeReader):
    """A node reached with asyncssh. One connection, opened on first use."""

    def __init__(self, node: Node, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        super().__init__(node)
        assert node.ssh is not None
        self.target = node.ssh
        self.connect_timeout = connect_timeout
        self._conn: Any = None
        self._sftp: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import asyncssh

        async with self._lock:
            if self._conn is not None:
                return self._conn
            t = self.target
            opts: dict[str, Any] = {"username": t.user, "port": t.port}
            if t.key_file:
                opts["client_keys"] = [t.key_file]
            if t.known_hosts:
                opts["known_hosts"] = t.known_hosts
            where = f"ssh {t.user}@{t.host}:{t.port}"
            try:
                self._conn = await asyncio.wait_for(
                    asyncssh.connect(t.host, **opts), self.connect_timeout
                )
            except TimeoutError as exc:
                raise self._err(f"{where}: no answer within {self.connect_timeout:g}s",
                                "timeout") from exc
            except asyncssh.HostKeyNotVerifiable as exc:
                raise self._err(f"{where}: host key not trusted by known_hosts ({exc.reason})",
                                "hostkey") from exc
            except asyncssh.PermissionDenied as exc:
                raise self._err(f"{where}: permission denied ({exc.reason})", "auth") from exc
            except (OSError, asyncssh.Error) as exc:
                raise self._err(f"{where}: {exc}", "unreachable") from exc
            return self._conn

    async def _sftp_client(self) -> Any:
        conn = await self._connection()
        if self._sftp is None:
            self._sftp = await conn.start_sftp_client()
        return self._sftp

    async def run(
        self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None
    ) -> RunResult:
        import asyncssh

        conn = await self._connection()
        start = time.monotonic()
        command = shlex.join(argv)
        try:
            res = await asyncio.wait_for(
                conn.run(command, input=stdin, encoding=None, check=False), timeout
            )
        except TimeoutError as exc:
            raise self._err(f"{command}: timed out after {timeout:g}s", "timeout") from exc
        except asyncssh.Error as exc:
            raise self._err(f"{command}: {exc}") from exc
        code = res.exit_status if res.exit_status is not None else 255
        return RunResult(tuple(argv), code, res.stdout or b"", res.stderr or b"",
                         time.monotonic() - start)

    async def read_file(
        self, path: str, max_bytes: int | None = None, offset: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        return await deadline(self._read(path, max_bytes, offset), timeout, self, f"read {path}")

    async def _read(self, path: str, max_bytes: int | None, offset: int) -> bytes:
        import asyncssh

        sftp = await self._sftp_client()
        try:
            async with sftp.open(path, "rb") as fh:
                if offset < 0:
                    size = (await fh.stat()).size or 0
                    await fh.seek(max(0, size + offset))
                elif offset:
                    await fh.seek(offset)
                data = await fh.read(-1 if max_bytes is None else max_bytes)
                return bytes(data)
        except asyncssh.SFTPNoSuchFile as exc:
            raise self._err(f"{path}: no such file", "missing") from exc
        except asyncssh.SFTPError as exc:
            raise self._err(f"{path}: {exc.reason}") from exc

    async def stat(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> FileStat | None:
        import asyncssh

        async def _stat() -> FileStat | None:
            sftp = await self._sftp_client()
            try:
                a = await sftp.stat(path)
            except asyncssh.SFTPNoSuchFile:
                return None
            except asyncssh.SFTPError as exc:
                raise self._err(f"{path}: {exc.reason}") from exc
            mode = a.permissions or 0
            return FileStat(path, a.size or 0, float(a.mtime or 0), stat_mod.S_ISDIR(mode), mode)

        return await deadline(_stat(), timeout, self, f"stat {path}")

    async def list_dir(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> list[DirEntry]:
        import asyncssh

        async def _list() -> list[DirEntry]:
            sftp = await self._sftp_client()
            try:
                names = await sftp.readdir(path)
            except asyncssh.SFTPNoSuchFile as exc:
                raise self._err(f"{path}: no such directory", "missing") from exc
            except asyncssh.SFTPError as exc:
                raise self._err(f"{path}: {exc.reason}") from exc
            out = []
            for n in names:
                name = n.filename if isinstance(n.filename, str) else n.filename.decode()
                if name in (".", ".."):
                    continue
                a = n.attrs
                mode = a.permissions or 0
                out.append(DirEntry(name, f"{path.rstrip('/')}/{name}", a.size or 0,
                                    float(a.mtime or 0), stat_mod.S_ISDIR(mode), mode))
            return sorted(out, key=lambda d: d.name)

        return await deadline(_list(), timeout, self, f"list {path}")

    async def now(self, timeout: float = DEFAULT_TIMEOUT) -> float:
        res = await self.run(["date", "+%s.%N"], timeout=timeout)
        try:
            return float(res.text().strip())
        except ValueError as exc:
            raise self._err(f"cannot read the clock: {res.text()[:80]!r}") from exc

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            try:
                await asyncio.wait_for(self._conn.wait_closed(), 2)
            except (TimeoutError, OSError):
                pass
            self._conn = None
            self._sftp = None


def connect(node: Node) -> NodeReader:
    """The read-only client for a node: local or SSH. Connection is lazy (first call)."""
    return LocalNode(node) if node.ssh is None else SSHNode(node)
