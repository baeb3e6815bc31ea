"""Checkpoint files: numpy ``.npz`` archives written atomically and read without pickle.

Models (``Module.save``) and optimisers (``Optimizer.save``) store their state through these two
functions, so both get the same guarantees: a crash while saving leaves the previous file intact
(see :mod:`tinygrad_edu.atomic`; saving over a file keeps its permissions), and loading a file
never runs code (object arrays and pickles are refused with :class:`CheckpointError`).

Loading is bounded by what the caller expects. :func:`read_npz` first reads only the ``.npy``
header of every entry (its name, shape and dtype: a few hundred bytes each) and hands them to a
``check`` function, which compares them with the model or optimiser and raises when they do not
fit. Only then is any array data decompressed, so a small hostile file that claims a huge shape,
or inflates to gigabytes, is refused before it can allocate memory. An entry whose data is
shorter than its header promises is reported as truncated.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any, NamedTuple

import numpy as np

from .atomic import atomic_write
from .errors import CheckpointError

__all__ = ["Entry", "read_npz", "write_npz"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
_NPY_MAGIC = b"\x93NUMPY"
# What reading a damaged zip member can raise (NotImplementedError: a garbled zip version or
# compression field; zlib.error: garbled deflate data; EOFError: data that ends early;
# RuntimeError: an encrypted member, which needs a password).
_DAMAGE = (
    OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, ValueError,
    RuntimeError,
)


class Entry(NamedTuple):
    """What an entry's ``.npy`` header says, read before its data: shape, dtype, data bytes."""

    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int


def write_npz(path: str | os.PathLike[str], arrays: dict[str, Any]) -> None:
    """Write ``arrays`` to exactly ``path`` as an ``.npz`` archive, atomically.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from tinygrad_edu.checkpoint import read_npz, write_npz
        >>> path = os.path.join(tempfile.mkdtemp(), "state")
        >>> write_npz(path, {"w": np.arange(3.0)})
        >>> read_npz(path)["w"].tolist()
        [0.0, 1.0, 2.0]
    """
    # Given a file object, np.savez writes exactly there: it appends ".npz" only to file
    # names, which would make save(p) and load(p) disagree.
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_npz(
    path: str | os.PathLike[str],
    check: Callable[[dict[str, Entry], Callable[[str], np.ndarray]], None] | None = None,
) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path``, read without pickle.

    Args:
        path: the archive.
        check: called as ``check(entries, read)`` with ``{name: Entry}`` from the headers
            alone, before any data is read; it raises :class:`CheckpointError` when the
            entries do not fit what the caller expects (names, shapes, dtypes), which bounds
            what reading may allocate. ``read(name)`` reads one entry early (for a small one,
            such as a type tag, whose value decides what else to expect).

    Raises:
        CheckpointError: not an ``.npz`` archive, a damaged or truncated entry, an entry that
            would need pickle, or whatever ``check`` refuses.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            start = f.read(len(_NPY_MAGIC))
            if start[:4] not in _ZIP_MAGIC:
                _refuse_non_archive(path, f, start)
            try:
                archive = zipfile.ZipFile(f)
            except _DAMAGE as exc:
                raise _unreadable(path, exc) from None
            with archive:
                entries, members, damage = _headers(path, archive)
                # What the caller expects is checked first: a file that claims the wrong
                # shapes is told so, whether or not it also holds the data it claims.
                if check is not None:
                    check(entries, lambda name: _read_data(path, archive, name, members[name]))
                if damage:
                    raise CheckpointError(damage[0])
                return {name: _read_data(path, archive, name, members[name]) for name in entries}
    except (OSError, EOFError) as exc:  # the file itself: missing, a directory, unreadable
        raise _unreadable(path, exc) from None


def _unreadable(path: str, exc: BaseException) -> CheckpointError:
    return CheckpointError(
        f"load({path!r}): not a readable .npz checkpoint ({type(exc).__name__}: {exc})"
    )


def _refuse_non_archive(path: str, f: IO[bytes], start: bytes) -> None:
    """Anything but a zip archive: a single .npy array, or something numpy would unpickle."""
    if not start:
        raise CheckpointError(f"load({path!r}): not a readable .npz checkpoint (the file is empty)")
    if start == _NPY_MAGIC:
        f.seek(0)
        try:
            shape = _read_header(f)[0]
        except _DAMAGE:
            shape = "unknown"
        raise CheckpointError(
            f"load({path!r}): expected an .npz archive of named arrays (as written by save); "
            f"got a single array of shape {shape}"
        )
    raise CheckpointError(
        f"load({path!r}): not an .npz checkpoint; reading it would need pickle, which could "
        "run code, so it is refused. Save models with Module.save."
    )


def _read_header(fp: IO[bytes]) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran_order) from a .npy header; the stream is left at the data."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
    return tuple(shape), dtype, fortran


def _headers(
    path: str, archive: zipfile.ZipFile
) -> tuple[dict[str, Entry], dict[str, zipfile.ZipInfo], list[str]]:
    """Every entry's header, and the entries whose stored size differs from what it says."""
    entries: dict[str, Entry] = {}
    members: dict[str, zipfile.ZipInfo] = {}
    damage: list[str] = []
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise CheckpointError(
                f"load({path!r}): the archive holds {info.filename!r}, which is not a .npy "
                "array; a checkpoint holds named arrays only"
            )
        name = info.filename[:-4]
        if name in entries:
            raise CheckpointError(f"load({path!r}): the entry {name!r} appears twice")
        try:
            with archive.open(info) as fp:
                shape, dtype, _ = _read_header(fp)
                offset = fp.tell()
        except _DAMAGE as exc:
            raise CheckpointError(
                f"load({path!r}): the header of entry {name!r} is damaged "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if dtype.hasobject:
            raise CheckpointError(
                f"load({path!r}): entry {name!r} holds Python objects (dtype {dtype}), which "
                "cannot be read without pickle; checkpoints hold numeric arrays only, and "
                "loading never runs code"
            )
        nbytes = math.prod(shape) * dtype.itemsize
        stored = info.file_size - offset
        if stored < nbytes:
            damage.append(
                f"load({path!r}): entry {name!r} is truncated: its header promises an array "
                f"of shape {shape} and dtype {dtype} ({nbytes} bytes) but the archive holds "
                f"only {max(stored, 0)} bytes of it. The file was cut short or damaged; "
                "save it again."
            )
        if stored > nbytes:
            damage.append(
                f"load({path!r}): entry {name!r} has {stored - nbytes} bytes after the data "
                f"its header describes (shape {shape}, dtype {dtype}); the file is damaged"
            )
        entries[name] = Entry(shape, dtype, nbytes)
        members[name] = info
    return entries, members, damage


def _read_data(path: str, archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> np.ndarray:
    try:
        with archive.open(info) as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)
    except _DAMAGE as exc:
        what = "truncated" if "EOF" in str(exc) else "damaged"
        raise CheckpointError(
            f"load({path!r}): entry {name!r} is {what} ({type(exc).__name__}: {exc})"
        ) from None
