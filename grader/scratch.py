"""Temporary folders of a grading run, and their removal on every path out of it.

Every folder the grader makes for a kernel or a verdict worker comes from
:func:`make`: a private `mkdtemp` folder (so no one can plant a symlink in its
place) whose name carries the grading process's id, `nbg-sbx-<pid>-...`. It is
removed when its owner is done (:func:`remove`), at interpreter exit, and on
SIGTERM (:func:`stop_on_sigterm` turns the signal into SystemExit, so every
`finally` and atexit handler runs). A run killed outright (SIGKILL) cannot
clean up: the next run removes the folders of processes that no longer exist
(:func:`sweep`).
"""

import atexit
import os
import re
import shutil
import signal
import tempfile

PREFIXES = ("nbg-sbx-", "nbg-verdict-")
_made = set()


def make(prefix):
    """Create and return a private temporary folder for this process (prefix from PREFIXES)."""
    folder = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    _made.add(folder)
    return folder


def remove(folder):
    """Remove a folder made by `make`."""
    _made.discard(folder)
    shutil.rmtree(folder, ignore_errors=True)


def remove_all():
    """Remove every folder this process made and still holds."""
    for folder in list(_made):
        remove(folder)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(root=None):
    """Remove the grading folders left in `root` (the temp dir) by processes that have died."""
    root = root or tempfile.gettempdir()
    pattern = re.compile(rf"^({'|'.join(map(re.escape, PREFIXES))})(\d+)-")
    try:
        names = os.listdir(root)
    except OSError:
        return []
    removed = []
    for name in names:
        match = pattern.match(name)
        path = os.path.join(root, name)
        if match and not _alive(int(match.group(2))) and os.path.isdir(path) and not os.path.islink(path):
            try:
                if os.stat(path).st_uid != os.geteuid():
                    continue
            except OSError:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def stop_on_sigterm():
    """Make SIGTERM end this process through SystemExit, so that its clean-up runs."""
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(remove_all)
