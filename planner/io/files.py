"""Writing the files the planner produces (``--out``, the price snapshot, the calibration) safely.

:func:`write_atomic` never replaces anything but a regular file (a device, FIFO, socket or
directory at the path is refused with a one-line error), writes a hidden temp file in the same
folder, fsyncs it, optionally validates it, and only then renames it over the old file, whose
permission bits it keeps; on any failure the old file is untouched and the temp file removed.
Temp files a killed writer left behind (older than :data:`STALE_TEMP_S`) are removed on the next
write to the same path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from planner.errors import PlannerError

STALE_TEMP_S = 600  # a temp file of a write this old is a leftover (a write takes well under 1 s)


class OutputPathError(PlannerError):
    """The output path cannot be written safely (nothing was written or replaced)."""


def temp_prefix(path: Path) -> str:
    """The name prefix of :func:`write_atomic`'s temp files for ``path`` (hidden, same folder)."""
    return f".{path.name}."


def output_target(path: Path, what: str = "--out") -> Path:
    """The regular file a write to ``path`` replaces (a symlink is followed), or ``path`` if
    nothing is there yet. Raises OutputPathError for a directory or a non-regular file."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise OutputPathError(f"{what} {path} is a dangling symbolic link; refused") from None
        return path
    except OSError as exc:
        raise OutputPathError(f"{what} {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"{what} {path} is a directory: give a file name")
    if not stat.S_ISREG(info.st_mode):
        raise OutputPathError(f"{what} {path} is not a regular file (a device, FIFO or socket); "
                              "refused")
    return path.resolve() if path.is_symlink() else path


def read_capped(path: Path, cap_bytes: int, what: str = "file",
                error: type[PlannerError] = PlannerError) -> bytes:
    """At most ``cap_bytes`` of a regular file. Raises ``error``, naming the file, for anything
    else: a missing or unreadable file, a directory, FIFO or device (refused without reading or
    blocking), or a larger file (only ``cap_bytes`` + 1 bytes are ever read)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"cannot read {what} {path.name}: {exc.strerror or exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{what} {path.name} is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path.name} is not a regular file")
        chunks, size = [], 0
        while size <= cap_bytes:
            chunk = os.read(fd, min(cap_bytes + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"cannot read {what} {path.name}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if size > cap_bytes:
        raise error(f"{what} {path.name} is larger than {cap_bytes:,} bytes")
    return b"".join(chunks)


def remove_stale_temps(path: Path, older_than_s: float = STALE_TEMP_S) -> list[Path]:
    """Delete temp files of writes to ``path`` older than ``older_than_s``; the ones removed."""
    removed = []
    folder, prefix, now = path.parent, temp_prefix(path), time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def write_atomic(path: Path, data: bytes | str, *, what: str = "--out",
                 validate: Callable[[Path], None] | None = None,
                 before_replace: Callable[[Path], None] | None = None) -> Path:
    """Write ``data`` to ``path`` atomically and return the file written (``path``, or the file
    its symlink points to). ``validate(tmp)`` may raise to refuse the written temp file;
    ``before_replace(target)`` may raise to refuse at the last moment (e.g. the file changed)."""
    target = output_target(path, what)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{what} {path}: cannot create {folder}: "
                              f"{exc.strerror or exc}") from exc
    remove_stale_temps(target)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputPathError(f"{what} {path}: cannot write in {folder}: "
                              f"{exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if validate is not None:
            validate(tmp)
        try:
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        if before_replace is not None:
            before_replace(target)
        output_target(target, what)  # still a regular file (or absent) just before the rename
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputPathError(f"{what} {path}: cannot write: {exc.strerror or exc}; "
                              "nothing replaced") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return target


def fsync_dir(folder: Path) -> None:
    """Persist a rename on POSIX; a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
