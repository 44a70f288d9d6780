"""A real LocalNode that also records what a probe asked of it (reads, bytes, writes).

It does the real file I/O (it is LocalNode); it only counts, so tests can hold a probe to
"reads only the tail" and "never writes" without timing anything.
"""

from __future__ import annotations

from blackstart.checks.model import Node
from blackstart.checks.nodes import LocalNode


class RecordingNode(LocalNode):
    def __init__(self, node: Node, clock: float | None = None) -> None:
        super().__init__(node)
        self.reads: list[tuple[str, int | None, int]] = []
        self.bytes_read = 0
        self.writes: list[str] = []
        self.clock = clock  # a node whose clock is wrong (after a power cut)

    async def read_file(self, path, max_bytes=None, offset=0, timeout=10.0):  # type: ignore[override]
        data = await super().read_file(path, max_bytes, offset, timeout)
        self.reads.append((path, max_bytes, offset))
        self.bytes_read += len(data)
        return data

    async def now(self, timeout=10.0):  # type: ignore[override]
        return self.clock if self.clock is not None else await super().now(timeout)

    async def write_file(self, path, data, mode=0o600, timeout=10.0):  # type: ignore[override]
        self.writes.append(path)
        raise AssertionError(f"a probe tried to write {path}")

    async def rename(self, src, dst, timeout=10.0):  # type: ignore[override]
        self.writes.append(src)
        raise AssertionError(f"a probe tried to rename {src}")

    async def makedirs(self, path, mode=0o700, timeout=10.0):  # type: ignore[override]
        self.writes.append(path)
        raise AssertionError(f"a probe tried to mkdir {path}")
