"""A local secret key for runs without SECRET_KEY; production always sets its own."""

import os
import secrets
import tempfile
from pathlib import Path


def local_secret_key(path: Path) -> str:
    """Return the key stored at `path`, creating it (mode 0600) on first use.

    The web server, worker, beat and apscheduler start at once and may all find no key:
    the key is written whole to a temporary file and linked into place, so the first link
    wins and every process reads that one key, never a half-written file.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process linked its key first: use that one
    finally:
        os.unlink(tmp)
    return path.read_text().strip()
