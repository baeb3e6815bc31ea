"""Atomic file writes: a file is either its old self or completely new, never half-written.

The new contents go to a temporary file in the same directory, are flushed to disk, and the
temporary file is then moved onto the target in one step (``os.replace``). A crash, a full disk
or a KeyboardInterrupt while writing leaves the previous file untouched and no temporary file
behind. Writing over an existing file keeps its permission bits (a private 0600 checkpoint
stays 0600); a new file gets the permissions ``open()`` would give it (0666 minus the umask).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from typing import IO, Any

__all__ = ["atomic_write"]


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[IO[Any]], None], text: bool = False
) -> None:
    """Call ``write(f)`` on a temporary file, then move it onto ``path`` in one step.

    Args:
        path: the file to create or replace (its directory must exist).
        write: writes the contents into the open file it is given.
        text: open the temporary file as UTF-8 text instead of binary.

    Raises:
        FileNotFoundError: the directory of ``path`` does not exist.
        NotADirectoryError: a parent of ``path`` is a regular file.

    Example:
        >>> import os, tempfile
        >>> from tinygrad_edu.atomic import atomic_write
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> atomic_write(path, lambda f: f.write("hello"), text=True)
        >>> open(path).read()
        'hello'
    """
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise NotADirectoryError(f"save: {directory!r} is a file, not a directory")
        raise FileNotFoundError(f"save: the directory {directory!r} does not exist")
    try:
        keep_mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        keep_mode = None
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    # Mode 0o666 lets the umask decide a new file's permissions, as for a plain open(); an
    # existing file's own mode is set on the temporary file before anything is written to it.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if keep_mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, keep_mode)
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if keep_mode is not None and not hasattr(os, "fchmod"):  # Windows
            os.chmod(tmp, keep_mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
