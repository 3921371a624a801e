"""Report files written whole or not at all.

Each file's text goes to a temporary file beside it (same directory, so the rename is
atomic) and is renamed over its path only when every file of the batch is complete: a
reporter failing half-way through a stream leaves no report half-made and none replaced.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

# What a report file receives: the whole text, or its chunks as a reporter streams them.
Text = str | Iterable[str]


def write_atomically(path: Path, text: Text) -> None:
    """A reader (or a crash) never sees half a report."""
    write_all_atomically({path: text})


def write_all_atomically(files: Mapping[Path, Text]) -> None:
    """Every file written to its temporary file first, then all renamed into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path = path.expanduser()
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            staged.append((Path(name), path))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                # mkstemp makes the file 0600; a report is read by others (a CI artifact, a
                # web server), so give it the mode a plain open() would have: keep an
                # existing file's, otherwise 0666 less the umask.
                os.fchmod(fh.fileno(), _mode_for(path))
                fh.writelines([text] if isinstance(text, str) else text)
        for tmp, path in staged:
            tmp.replace(path)
    except BaseException:
        for tmp, _path in staged:
            tmp.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        # Reading the umask means setting it for a moment: reports are written after the
        # scan's threads are done, so no other thread creates a file meanwhile.
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
