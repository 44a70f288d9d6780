"""What runbook steps call to write on a node: one function per operation (write, put,
get, rename, makedirs), done locally through `safe_files` or over SSH through `safe_sftp`
according to the node's client, each bounded by a timeout and turning SFTP errors into
`NodeError`. Kept apart so neither half knows about node clients.
"""

from __future__ import annotations

from typing import Any

from blackstart.runbook.safe_files import (
    DIR_MODE,
    FILE_MODE,
    copy_file,
    private_dir,
    rename_noreplace,
    staged,
    write_bytes,
)
from blackstart.runbook.safe_sftp import (
    iter_local,
    iter_remote,
    remote_private_dir,
    remote_rename_noreplace,
    remote_require_regular,
    remote_staged_write,
)


def _sftp_of(client: Any) -> Any:
    from blackstart.checks.nodes import SSHNode

    return client._sftp_client() if isinstance(client, SSHNode) else None


async def _guard(client: Any, what: str, coro: Any, timeout: float) -> Any:
    import asyncio

    import asyncssh

    from blackstart.checks.nodes import NodeError

    try:
        return await asyncio.wait_for(coro, timeout)
    except TimeoutError as exc:
        raise NodeError(client.name, f"{what}: no answer within {timeout:g}s", "timeout"
                        ) from exc
    except (asyncssh.SFTPError, asyncssh.Error) as exc:
        raise NodeError(client.name, f"{what}: {getattr(exc, 'reason', exc)}") from exc


async def node_write(client: Any, path: str, data: bytes, *, mode: int = FILE_MODE,
                     replace: bool = True, timeout: float = 60.0) -> None:
    import asyncio

    sftp_c = _sftp_of(client)
    if sftp_c is None:
        await _guard(client, f"write {path}", asyncio.to_thread(
            write_bytes, path, data, mode=mode, replace=replace), timeout)
        return

    async def one() -> Any:
        yield data

    async def go() -> None:
        await remote_staged_write(await sftp_c, client.run, path, one(), mode=mode,
                                  replace=replace)

    await _guard(client, f"write {path}", go(), timeout)


async def node_put(client: Any, local: str, path: str, *, mode: int = FILE_MODE,
                   timeout: float = 900.0) -> None:
    """Copy a file from this machine to `path` on the node (never over an existing one)."""
    import asyncio

    sftp_c = _sftp_of(client)
    if sftp_c is None:
        await _guard(client, f"copy {local} -> {path}",
                     asyncio.to_thread(copy_file, local, path, mode=mode), timeout)
        return

    async def go() -> None:
        await remote_staged_write(await sftp_c, client.run, path, iter_local(local),
                                  mode=mode)

    await _guard(client, f"copy {local} -> {path}", go(), timeout)


async def node_get(client: Any, path: str, local: str, *, timeout: float = 900.0) -> None:
    """Copy `path` on the node to `local` on this machine (0600, never over a file)."""
    import asyncio

    sftp_c = _sftp_of(client)
    if sftp_c is None:
        await _guard(client, f"copy {path} -> {local}",
                     asyncio.to_thread(copy_file, path, local), timeout)
        return

    async def go() -> None:
        sftp = await sftp_c
        await remote_require_regular(sftp, path)
        with staged(local, replace=False) as st:
            async for chunk in iter_remote(sftp, path):
                await asyncio.to_thread(st.fh.write, chunk)

    await _guard(client, f"copy {path} -> {local}", go(), timeout)


async def node_rename(client: Any, src: str, dst: str, *, timeout: float = 60.0) -> None:
    import asyncio

    sftp_c = _sftp_of(client)
    if sftp_c is None:
        await _guard(client, f"rename {src}", asyncio.to_thread(rename_noreplace, src, dst),
                     timeout)
        return

    async def go() -> None:
        await remote_rename_noreplace(await sftp_c, client.run, src, dst)

    await _guard(client, f"rename {src}", go(), timeout)


async def node_makedirs(client: Any, path: str, *, mode: int = DIR_MODE,
                        timeout: float = 60.0) -> None:
    import asyncio

    sftp_c = _sftp_of(client)
    if sftp_c is None:
        await _guard(client, f"mkdir {path}", asyncio.to_thread(private_dir, path, mode),
                     timeout)
        return

    async def go() -> None:
        await remote_private_dir(await sftp_c, client.run, path, mode)

    await _guard(client, f"mkdir {path}", go(), timeout)
