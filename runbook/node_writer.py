"""Write access to a node: the capability `checks` never gets.

`blackstart.checks.nodes` reads (run, read_file, stat, list_dir, now). A `NodeWriter` is a
reader that can also change the node: write a file, rename, make dirs, copy files in and
out. It lives here, in `runbook`, so a probe cannot reach it by import (an import-linter
contract in pyproject.toml holds `checks` to that). `WriterPool` keeps one writer per node
for the life of a plan; the executor and the restore planner share it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from blackstart.checks.model import Cluster, Node
from blackstart.checks.nodes import (
    DEFAULT_TIMEOUT,
    LocalNode,
    NodeReader,
    SSHNode,
    deadline,
)


class NodeWriter(NodeReader):
    """A reader with the calls that change the node; subclasses implement them."""

    async def write_file(
        self, path: str, data: bytes, mode: int = 0o600, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        raise NotImplementedError

    async def rename(self, src: str, dst: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Rename; refuses to replace an existing `dst` (nothing is ever overwritten)."""
        raise NotImplementedError

    async def makedirs(
        self, path: str, mode: int = 0o700, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        raise NotImplementedError

    async def put_file(self, local_path: str, path: str, timeout: float = 600.0) -> None:
        """Copy a file from this machine to `path` on the node (via a temp name, then
        renamed, so a half-copied file never has the final name)."""
        raise NotImplementedError

    async def get_file(self, path: str, local_path: str, timeout: float = 600.0) -> None:
        """Copy `path` on the node to `local_path` on this machine."""
        raise NotImplementedError


class LocalWriter(LocalNode, NodeWriter):
    """This machine, writable."""

    async def write_file(
        self, path: str, data: bytes, mode: int = 0o600, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        def _write() -> None:
            tmp = f"{path}.blackstart-tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)

        await deadline(asyncio.to_thread(_write), timeout, self, f"write {path}")

    async def rename(self, src: str, dst: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        if os.path.exists(dst):
            raise self._err(f"refusing to rename {src} over existing {dst}")
        await deadline(asyncio.to_thread(os.rename, src, dst), timeout, self, f"rename {src}")

    async def makedirs(
        self, path: str, mode: int = 0o700, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        await deadline(
            asyncio.to_thread(Path(path).mkdir, mode, True, True), timeout, self, f"mkdir {path}"
        )

    async def put_file(self, local_path: str, path: str, timeout: float = 600.0) -> None:
        await deadline(asyncio.to_thread(_copy_local, local_path, path), timeout, self,
                       f"copy {local_path} -> {path}")

    async def get_file(self, path: str, local_path: str, timeout: float = 600.0) -> None:
        await deadline(asyncio.to_thread(_copy_local, path, local_path), timeout, self,
                       f"copy {path} -> {local_path}")


def _copy_local(src: str, dst: str) -> None:
    tmp = f"{dst}.blackstart-tmp"
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dst)


class SSHWriter(SSHNode, NodeWriter):
    """A node over SSH, writable (SFTP for files, `mkdir` for dirs)."""

    async def write_file(
        self, path: str, data: bytes, mode: int = 0o600, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        async def _write() -> None:
            sftp = await self._sftp_client()
            tmp = f"{path}.blackstart-tmp"
            async with sftp.open(tmp, "wb") as fh:
                await fh.write(data)
            await sftp.chmod(tmp, mode)
            await sftp.posix_rename(tmp, path)

        await deadline(_write(), timeout, self, f"write {path}")

    async def rename(self, src: str, dst: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        async def _rename() -> None:
            sftp = await self._sftp_client()
            if await sftp.exists(dst):
                raise self._err(f"refusing to rename {src} over existing {dst}")
            await sftp.rename(src, dst)

        await deadline(_rename(), timeout, self, f"rename {src}")

    async def makedirs(
        self, path: str, mode: int = 0o700, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        res = await self.run(["mkdir", "-p", "-m", f"{mode:o}", path], timeout=timeout)
        if not res.ok:
            raise self._err(f"mkdir {path}: {res.stderr.decode('utf-8', 'replace').strip()}")

    async def put_file(self, local_path: str, path: str, timeout: float = 600.0) -> None:
        async def _put() -> None:
            sftp = await self._sftp_client()
            tmp = f"{path}.blackstart-tmp"
            await sftp.put(local_path, tmp)
            await sftp.posix_rename(tmp, path)

        await deadline(_put(), timeout, self, f"copy {local_path} -> {path}")

    async def get_file(self, path: str, local_path: str, timeout: float = 600.0) -> None:
        async def _get() -> None:
            sftp = await self._sftp_client()
            tmp = f"{local_path}.blackstart-tmp"
            await sftp.get(path, tmp)
            os.replace(tmp, local_path)

        await deadline(_get(), timeout, self, f"copy {path} -> {local_path}")


def connect_writer(node: Node) -> NodeWriter:
    """The writable client for a node: local or SSH. Connection is lazy (first call)."""
    return LocalWriter(node) if node.ssh is None else SSHWriter(node)


class WriterPool:
    """One lazily opened writer per node of a cluster, all closed together."""

    def __init__(self, cluster: Cluster, clients: dict[str, NodeWriter] | None = None) -> None:
        self.cluster = cluster
        self.clients: dict[str, NodeWriter] = clients if clients is not None else {}

    def client(self, node: str) -> NodeWriter:
        if node not in self.clients:
            self.clients[node] = connect_writer(self.cluster.node(node))
        return self.clients[node]

    async def close(self) -> None:
        for c in self.clients.values():
            await c.close()
        self.clients.clear()
