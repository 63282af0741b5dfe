"""Writing files so that they are either the old or the new version, never half-written.

Every file MixGUI writes (analysis, project, report, recovery) goes through here: the bytes go to
a temporary file in the same folder, are flushed to disk, and the temporary file is renamed over
the target (atomic on POSIX and Windows); then the folder is flushed so the rename is durable.
"""
from __future__ import annotations

import errno
import os
import tempfile
import time
from pathlib import Path

from mixgui.errors import MixGUIError


class WriteError(MixGUIError, OSError):
    """A file could not be written, said in one sentence (still an OSError, with the errno, for callers)."""

    def __str__(self) -> str:
        return str(self.strerror)


def write_error(path, e: OSError) -> WriteError:
    """The plain-language error for an OSError met while writing ``path``."""
    path = Path(path)
    code = e.errno
    if isinstance(e, WriteError):
        return e
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        text = (f"cannot save {path.name}: the disk is full; free some space or save to another drive "
                "(the previous version of the file is unchanged)")
    elif isinstance(e, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = (f"cannot save {path.name}: no permission to write in {path.parent} (the folder is read-only, "
                "or the file is open in another program); choose another folder or close the file")
    elif isinstance(e, FileNotFoundError) or code == errno.ENOENT:
        text = f"cannot save {path.name}: the folder {path.parent} does not exist; choose another folder"
    else:
        text = (f"cannot save {path.name}: {e.strerror or e}; try another folder "
                "(the previous version of the file is unchanged)")
    return WriteError(code or errno.EIO, text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with ordinary file permissions (0666 less the umask).

    Raises
    ------
    WriteError
        (a MixGUIError and an OSError) the disk is full, the folder is read-only or missing, ...;
        the previous version of ``path`` is left as it was.
    """
    path = Path(path)
    try:
        _write(path, data)
    except OSError as e:
        raise write_error(path, e) from None


def _write(path: Path, data: bytes) -> None:
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
