"""Write access to a node: the capability `checks` never gets.

`blackstart.checks.nodes` reads (run, read_file, stat, list_dir, now). A `NodeWriter` is a
reader that can also change the node: write a file, rename, make dirs, copy files in and
out. It lives here, in `runbook`, so a probe cannot reach it by import (an import-linter
contract in pyproject.toml holds `checks` to that). `WriterPool` keeps one writer per node
for the life of a plan; the executor and the restore planner share it.
"""

from __future__ import annotations

from blackstart.checks.model import Cluster, Node
from blackstart.checks.nodes import (
    DEFAULT_TIMEOUT,
    LocalNode,
    NodeReader,
    SSHNode,
)
from blackstart.runbook import safe_node_io


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
    """This machine, writable: every call goes through runbook.safe_node_io."""

    async def write_file(
        self, path: str, data: bytes, mode: int = 0o600, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        await safe_node_io.node_write(self, path, data, mode=mode, timeout=timeout)

    async def rename(self, src: str, dst: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        await safe_node_io.node_rename(self, src, dst, timeout=timeout)

    async def makedirs(
        self, path: str, mode: int = 0o700, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        await safe_node_io.node_makedirs(self, path, mode=mode, timeout=timeout)

    async def put_file(self, local_path: str, path: str, timeout: float = 600.0) -> None:
        await safe_node_io.node_put(self, local_path, path, timeout=timeout)

    async def get_file(self, path: str, local_path: str, timeout: float = 600.0) -> None:
        await safe_node_io.node_get(self, path, local_path, timeout=timeout)


class SSHWriter(SSHNode, NodeWriter):
    """A node over SSH, writable: SFTP with the same promises (runbook.safe_node_io)."""

    async def write_file(
        self, path: str, data: bytes, mode: int = 0o600, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        await safe_node_io.node_write(self, path, data, mode=mode, timeout=timeout)

    async def rename(self, src: str, dst: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        await safe_node_io.node_rename(self, src, dst, timeout=timeout)

    async def makedirs(
        self, path: str, mode: int = 0o700, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        await safe_node_io.node_makedirs(self, path, mode=mode, timeout=timeout)

    async def put_file(self, local_path: str, path: str, timeout: float = 600.0) -> None:
        await safe_node_io.node_put(self, local_path, path, timeout=timeout)

    async def get_file(self, path: str, local_path: str, timeout: float = 600.0) -> None:
        await safe_node_io.node_get(self, path, local_path, timeout=timeout)


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
