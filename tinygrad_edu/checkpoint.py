"""Checkpoint files: numpy ``.npz`` archives written atomically and read without pickle.

Models (``Module.save``) and optimisers (``Optimizer.save``) store their state through these two
functions, so both get the same guarantees: a crash while saving leaves the previous file intact
(the archive is written to a temporary file in the same directory, flushed to disk, then moved
onto the target in one step), and loading a file never runs code (``allow_pickle=False``; object
arrays and pickles are refused with :class:`CheckpointError`).
"""

from __future__ import annotations

import os
import secrets
import zipfile
from typing import Any

import numpy as np

from .errors import CheckpointError

__all__ = ["read_npz", "write_npz"]


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
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory {directory!r} does not exist")
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for a plain open().
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            # Given a file object, np.savez writes exactly there: it appends ".npz" only to
            # file names, which would make save(p) and load(p) disagree.
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path``, read without pickle."""
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            # Anything that is neither .npz nor .npy, numpy would try to unpickle: refused.
            raise CheckpointError(
                f"load({path!r}): not an .npz checkpoint; reading it would need pickle, which "
                "could run code, so it is refused. Save models with Module.save."
            ) from None
        raise CheckpointError(f"load({path!r}): not a readable .npz checkpoint ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise CheckpointError(
            f"load({path!r}): not a readable .npz checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(
            f"load({path!r}): expected an .npz archive of named arrays (as written by save); "
            f"got a single array of shape {np.shape(archive)}"
        )
    arrays = {}
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError as exc:  # object arrays need pickle, which we refuse
                raise CheckpointError(
                    f"load({path!r}): entry {key!r} cannot be read without pickle ({exc}); "
                    "checkpoints hold numeric arrays only, and loading never runs code"
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
                # a damaged archive (NotImplementedError: a garbled zip version field)
                raise CheckpointError(
                    f"load({path!r}): entry {key!r} is damaged ({type(exc).__name__}: {exc})"
                ) from None
    return arrays


