"""Every write, copy, rename and move-aside blackstart makes on this machine goes through
here (the SSH side, `safe_sftp.remote_*`, keeps the same promises over SFTP).

The promises:
- a temp file has an unpredictable name in the target's own directory and is created with
  O_CREAT|O_EXCL|O_NOFOLLOW: a planted file or symlink under any name is never written
  through (the old predictable `DST.blackstart-tmp` let a symlink redirect a root write);
- a directory blackstart creates or writes into is opened with O_NOFOLLOW|O_DIRECTORY and
  the final rename is made relative to that open directory, so a symlink swapped in for
  `pruned/` or `blackstart-restore/` is refused, not followed;
- data is fsynced, renamed atomically, and the directory fsynced after;
- blackstart's own files are 0600, its directories 0700 (copies into backup dirs too);
- special files (FIFO, device, socket, a directory where a file is expected) are refused by
  `stat` before any `open`, so nothing ever blocks on a FIFO.

Symlinks the operator configured (a data dir or backup dir that is a link) are resolved by
`resolve_configured` and acted on at their real location; the caller shows both.

This module is the local side. `safe_sftp` keeps the same promises on a node over SFTP,
and `safe_node_io` picks one of the two by the node's client (what runbook steps call).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

FILE_MODE = 0o600
DIR_MODE = 0o700
CHUNK = 4 << 20
OWN_UMASK = 0o077


class UnsafePath(OSError):
    """A path blackstart refuses to act on; the message names it and says why."""

    def __init__(self, path: str | os.PathLike[str], why: str) -> None:
        super().__init__(errno.EPERM, f"{os.fspath(path)}: {why}")
        self.path = os.fspath(path)
        self.why = why

    def __str__(self) -> str:
        return f"{self.path}: {self.why}"


def own_umask() -> int:
    """Set umask 077 for blackstart's own files; returns the previous one."""
    return os.umask(OWN_UMASK)


# --------------------------------------------------------------------------- kinds


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def special_file_problem(mode: int, want: str = "file") -> str | None:
    """Why a path with this st_mode cannot be read as `want` ('file' or 'dir'), or None."""
    k = kind_of(mode)
    if want == "file" and k != "regular file":
        return f"is a {k}, not a regular file; refusing to open it"
    if want == "dir" and k != "directory":
        return f"is a {k}, not a directory"
    return None


def require_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """stat (following links the operator made) and refuse anything but a regular file,
    before any open: a FIFO would block the reader forever."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise UnsafePath(path, "no such file") from exc
    problem = special_file_problem(st.st_mode)
    if problem:
        raise UnsafePath(path, problem)
    return st


def open_regular_for_read(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading, checked by stat first and again by fstat (the
    file cannot be swapped for a FIFO in between: O_NONBLOCK keeps open from blocking)."""
    require_regular(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        problem = special_file_problem(os.fstat(fd).st_mode)
        if problem:
            raise UnsafePath(path, problem)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# --------------------------------------------------------------------------- dirs


def resolve_configured(path: str) -> tuple[str, str | None]:
    """(real path, how it was reached): a configured path that is a symlink is acted on at
    its real location, and the caller shows `link -> real`."""
    real = os.path.realpath(path)
    norm = os.path.normpath(path)
    return real, (f"{norm} -> {real}" if real != norm else None)


@contextlib.contextmanager
def open_dir(path: str | os.PathLike[str]) -> Iterator[int]:
    """An fd of a directory that is not itself a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath(path, _not_dir_reason(path)) from exc
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def _not_dir_reason(path: str | os.PathLike[str]) -> str:
    try:
        st = os.lstat(path)
    except OSError:
        return "is not a directory"
    if stat.S_ISLNK(st.st_mode):
        return (f"is a symlink (to {os.readlink(path)!r}), not a directory blackstart "
                "made; refusing to follow it")
    return f"is a {kind_of(st.st_mode)}, not a directory"


def private_dir(path: str | os.PathLike[str], mode: int = DIR_MODE, *, own: bool = False
                ) -> Path:
    """Make `path` (and missing parents) and hold its last component to being a real
    directory, not a symlink. `own=True` (the state dir and what is in it): blackstart's
    own directory, tightened to `mode` if someone made it looser."""
    p = Path(path)
    if not p.is_absolute():
        p = Path.cwd() / p
    if not p.parent.exists():
        private_dir(p.parent, mode)
    try:
        os.mkdir(p, mode)
    except FileExistsError:
        pass
    with open_dir(p) as fd:
        st = os.fstat(fd)
        if own and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != mode:
            os.fchmod(fd, mode)
    fsync_dir(p.parent)
    return p


def state_subdir(state_dir: str, *parts: str) -> Path:
    """`<state_dir>/<parts>`, every level blackstart's own: 0700, no symlink followed."""
    d = private_dir(state_dir, own=True)
    for part in parts:
        d = private_dir(d / part, own=True)
    return d


def fsync_dir(path: str | os.PathLike[str]) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- temp files


def temp_name(final: str) -> str:
    """`.NAME.<128 random bits>.bstmp`: nothing another user can guess in advance."""
    return f".{final[:80]}.{secrets.token_hex(16)}.bstmp"


def _open_temp(dir_fd: int, final: str, mode: int) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(16):
        name = temp_name(final)
        try:
            return os.open(name, flags, mode, dir_fd=dir_fd), name
        except FileExistsError:
            continue
    raise UnsafePath(final, "could not create a fresh temp file (16 names taken)")


@dataclass
class Staged:
    """The open temp file (`fh`) and its full path (`temp`, for a verifier to read)."""

    fh: BinaryIO
    temp: str


@contextlib.contextmanager
def staged(path: str | os.PathLike[str], *, mode: int = FILE_MODE, replace: bool = True
           ) -> Iterator[Staged]:
    """Write `path` through a fresh temp file beside it; on a clean exit fsync, chmod,
    rename into place (atomically; `replace=False` refuses an existing target) and fsync
    the directory. On error the temp file is removed: nothing half-written stays, and no
    `.part` is left to fill a disk."""
    p = Path(path)
    with open_dir(p.parent) as dfd:
        fd, tmp = _open_temp(dfd, p.name, mode)
        try:
            with os.fdopen(fd, "wb", closefd=True) as fh:
                yield Staged(fh, str(p.parent / tmp))
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                os.fsync(fh.fileno())
            _place(dfd, tmp, p.name, replace, p)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise
        os.fsync(dfd)


def _place(dfd: int, tmp: str, name: str, replace: bool, shown: Path) -> None:
    if replace:
        _refuse_dir_target(dfd, name, shown)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        return
    try:
        os.link(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
    except FileExistsError as exc:
        raise UnsafePath(shown, "already exists; refusing to overwrite it") from exc
    os.unlink(tmp, dir_fd=dfd)


def _refuse_dir_target(dfd: int, name: str, shown: Path) -> None:
    try:
        st = os.lstat(name, dir_fd=dfd)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
        raise UnsafePath(shown, f"is a {kind_of(st.st_mode)}; refusing to replace it")


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int = FILE_MODE,
                replace: bool = True) -> None:
    with staged(path, mode=mode, replace=replace) as st:
        st.fh.write(data)


def copy_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
              mode: int = FILE_MODE, replace: bool = False) -> int:
    """Stream `src` (a regular file, checked before open) into `dst` safely; bytes copied."""
    n = 0
    with open_regular_for_read(src) as rf, staged(dst, mode=mode, replace=replace) as wf:
        for chunk in iter(lambda: rf.read(CHUNK), b""):
            wf.fh.write(chunk)
            n += len(chunk)
    return n


# --------------------------------------------------------------------------- renames


_RENAME_NOREPLACE = 1


def _renameat2() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.renameat2
    except (OSError, AttributeError):
        return None


def rename_noreplace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Move `src` to `dst` (files or dirs), never over an existing `dst` and never through
    a symlinked destination directory: the kernel refuses an existing target atomically
    (renameat2 RENAME_NOREPLACE) and the destination dir is held open with O_NOFOLLOW."""
    s, d = Path(src), Path(dst)
    with open_dir(s.parent) as sfd, open_dir(d.parent) as dfd:
        fn = _renameat2()
        if fn is not None:
            rc = fn(sfd, os.fsencode(s.name), dfd, os.fsencode(d.name), _RENAME_NOREPLACE)
            if rc == 0:
                os.fsync(dfd)
                if sfd != dfd:
                    os.fsync(sfd)
                return
            err = ctypes.get_errno()
            if err == errno.EEXIST:
                raise UnsafePath(d, "already exists; refusing to rename over it")
            if err not in (errno.EINVAL, errno.ENOSYS):
                raise OSError(err, f"rename {s} -> {d}: {os.strerror(err)}")
        _rename_checked(sfd, s.name, dfd, d.name, d)


def _rename_checked(sfd: int, sname: str, dfd: int, dname: str, shown: Path) -> None:
    """Fallback for filesystems without RENAME_NOREPLACE: look, then rename."""
    try:
        os.lstat(dname, dir_fd=dfd)
    except FileNotFoundError:
        os.rename(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
        os.fsync(dfd)
        return
    raise UnsafePath(shown, "already exists; refusing to rename over it")


def lexists(path: str | os.PathLike[str]) -> bool:
    return os.path.lexists(path)
