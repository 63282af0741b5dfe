"""Writing files so that they are either the old or the new version, never half-written.

Every file MixGUI writes (analysis, project, report, recovery) goes through here: the bytes go to
a temporary file in the same folder, are flushed to disk, and the temporary file is renamed over
the target (atomic on POSIX and Windows); then the folder is flushed so the rename is durable.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with ordinary file permissions (0666 less the umask)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); a saved analysis or report should be readable
        # like any other document the user writes
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable (POSIX); harmless where unsupported
        dfd = os.open(str(path.parent), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    remove_stale_temps(path)


def atomic_write_text(path, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(path, age: float = 120.0) -> None:
    """Delete temporaries of ``path`` left by a writer that was killed between writing and renaming."""
    path = Path(path)
    now = time.time()
    for p in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if now - p.stat().st_mtime > age:
                p.unlink()
        except OSError:
            pass
