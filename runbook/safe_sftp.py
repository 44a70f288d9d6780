"""The promises of `safe_files`, kept on a node reached with SFTP.

A temp name nobody can guess, opened with SSH_FXF_CREAT|SSH_FXF_EXCL (the server's open(2)
then refuses any existing name, a planted symlink included), fsync@openssh.com, then a
rename (OpenSSH's plain SFTP rename never replaces an existing file; posix-rename@openssh.com
when replacing is wanted), and `sync DIR` for the directory. Directories are lstat'ed: a
symlink is refused. Kept apart from `safe_files` because it is the remote half: it speaks
asyncssh's SFTP client, while `safe_files` speaks the local kernel.
"""

from __future__ import annotations

import contextlib
from typing import Any

from blackstart.runbook.safe_files import (
    CHUNK,
    DIR_MODE,
    FILE_MODE,
    UnsafePath,
    kind_of,
    open_regular_for_read,
    special_file_problem,
    temp_name,
)


async def remote_lstat_kind(sftp: Any, path: str) -> str | None:
    import asyncssh

    try:
        a = await sftp.lstat(path)
    except asyncssh.SFTPNoSuchFile:
        return None
    return kind_of(a.permissions or 0)


async def remote_require_dir(sftp: Any, path: str) -> None:
    kind = await remote_lstat_kind(sftp, path)
    if kind is None:
        raise UnsafePath(path, "no such directory")
    if kind == "symlink":
        raise UnsafePath(path, "is a symlink, not a directory blackstart made; refusing to "
                               "follow it")
    if kind != "directory":
        raise UnsafePath(path, f"is a {kind}, not a directory")


async def remote_require_regular(sftp: Any, path: str) -> int:
    """stat (following the operator's links) before open; the size."""
    import asyncssh

    try:
        a = await sftp.stat(path)
    except asyncssh.SFTPNoSuchFile as exc:
        raise UnsafePath(path, "no such file") from exc
    problem = special_file_problem(a.permissions or 0)
    if problem:
        raise UnsafePath(path, problem)
    return int(a.size or 0)


async def _remote_temp(sftp: Any, directory: str, final: str, mode: int) -> tuple[Any, str]:
    import asyncssh

    flags = asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_EXCL
    for _ in range(16):
        tmp = f"{directory.rstrip('/')}/{temp_name(final)}"
        try:
            fh = await sftp.open(tmp, flags, asyncssh.SFTPAttrs(permissions=mode),
                                 encoding=None)
        except asyncssh.SFTPFailure:
            continue  # the name exists (SFTP v3 has no finer code for EEXIST)
        return fh, tmp
    raise UnsafePath(f"{directory}/{final}", "could not create a fresh temp file")


async def remote_staged_write(sftp: Any, run: Any, path: str, chunks: Any, *,
                              mode: int = FILE_MODE, replace: bool = False) -> int:
    """Write the async iterable `chunks` to `path` on the node with the promises above.
    `run(argv)` runs a command on the node (for `sync DIR`)."""
    import asyncssh

    directory, final = path.rsplit("/", 1) if "/" in path else (".", path)
    await remote_require_dir(sftp, directory or "/")
    fh, tmp = await _remote_temp(sftp, directory or "/", final, mode)
    n = 0
    try:
        try:
            async for chunk in chunks:
                await fh.write(chunk)
                n += len(chunk)
            await fh.chmod(mode)
            with contextlib.suppress(asyncssh.SFTPOpUnsupported):
                await fh.fsync()
        finally:
            await fh.close()
        await _remote_place(sftp, tmp, path, replace)
    except BaseException:
        with contextlib.suppress(Exception):
            await sftp.remove(tmp)
        raise
    await run(["sync", "--", directory or "/"])
    return n


async def _remote_place(sftp: Any, tmp: str, path: str, replace: bool) -> None:
    import asyncssh

    kind = await remote_lstat_kind(sftp, path)
    if kind is not None and not replace:
        raise UnsafePath(path, "already exists; refusing to overwrite it")
    if kind not in (None, "regular file", "symlink"):
        raise UnsafePath(path, f"is a {kind}; refusing to replace it")
    if replace:
        await sftp.posix_rename(tmp, path)
        return
    try:
        await sftp.rename(tmp, path)  # OpenSSH: link()+unlink(), never over a file
    except asyncssh.SFTPFailure as exc:
        raise UnsafePath(path, f"already exists; refusing to overwrite it ({exc.reason})"
                         ) from exc


async def remote_rename_noreplace(sftp: Any, run: Any, src: str, dst: str) -> None:
    """mv src dst on the node: never over anything at dst, never into a symlinked dir."""
    import posixpath

    await remote_require_dir(sftp, posixpath.dirname(dst) or "/")
    if await remote_lstat_kind(sftp, dst) is not None:
        raise UnsafePath(dst, "already exists; refusing to rename over it")
    await sftp.rename(src, dst)
    await run(["sync", "--", posixpath.dirname(dst) or "/"])


async def remote_private_dir(sftp: Any, run: Any, path: str, mode: int = DIR_MODE) -> None:
    """mkdir -p on the node, then hold the last component to a real directory."""
    if await remote_lstat_kind(sftp, path) is None:
        res = await run(["mkdir", "-p", "-m", f"{mode:o}", "--", path])
        if res.exit_code != 0:
            raise UnsafePath(path, "mkdir failed: "
                             + res.stderr.decode("utf-8", "replace").strip())
    await remote_require_dir(sftp, path)


async def iter_local(path: str) -> Any:
    """Chunks of a local regular file (checked before open), for `remote_staged_write`."""
    with open_regular_for_read(path) as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            yield chunk


async def iter_remote(sftp: Any, path: str) -> Any:
    """Chunks of a regular file on the node (stat first: a FIFO is refused, not opened)."""
    await remote_require_regular(sftp, path)
    async with sftp.open(path, "rb", encoding=None) as fh:
        while True:
            chunk = await fh.read(CHUNK)
            if not chunk:
                return
            yield bytes(chunk)
