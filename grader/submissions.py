"""What may cross from a submission folder into grading: regular files, checked as they are read.

A submission folder is hostile. A symbolic link in it would make nbgrader copy
(and a kernel read) whatever it points to: the source notebooks, the gradebook,
a root-only file of the host. A FIFO would hang the copy, a device would feed
it for ever, a hard link would stand for another owner's file. So every file
that crosses into grading goes through :func:`scan`, which walks the folder by
file descriptors (no path is resolved twice, so nothing can be swapped in
between the check and the copy), and accepts only regular files with one link,
belonging to the expected owner when there is one, within a count and a size.
Everything else is refused with a reason. :func:`quarantine` moves refused
entries out of a submitted folder, into grader/quarantine/, so that nothing is
lost and nbgrader never sees them.
"""

import datetime
import fnmatch
import os
import stat
import sys
from dataclasses import dataclass, field

MAX_FILES = 2000
MAX_BYTES = 256 * 2**20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


@dataclass
class Scan:
    """The outcome of scanning one folder."""

    files: list = field(default_factory=list)  # relative paths of the accepted regular files
    refused: list = field(default_factory=list)  # (relative path, reason)
    latest_change: float = 0.0  # the latest st_ctime of the folder and everything in it
    size: int = 0


def describe_mode(mode):
    """Say what a non-regular file is, from its st_mode."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def scan(folder, dest=None, owner=None, exclude=()):
    """Check the files under `folder`, copying the accepted ones into `dest` when given.

    owner: the uid every entry must belong to (None: any); exclude: glob
    patterns of file names to leave out silently (not refused). The folder
    itself must be a real folder, not a link. Raises FileNotFoundError if it
    does not exist.
    """
    result = Scan()
    top = os.open(folder, _DIR_FLAGS)
    try:
        info = os.fstat(top)
        if owner is not None and info.st_uid != owner:
            result.refused.append((".", f"the folder belongs to uid {info.st_uid}, not to the student"))
            return result
        result.latest_change = info.st_ctime
        _scan(top, "", dest, owner, exclude, result)
    finally:
        os.close(top)
    return result


def _scan(dirfd, prefix, dest, owner, exclude, result):
    for entry in sorted(os.scandir(dirfd), key=lambda e: e.name):
        rel = prefix + entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as error:
            result.refused.append((rel, f"cannot be read ({error.strerror})"))
            continue
        result.latest_change = max(result.latest_change, info.st_ctime)
        if owner is not None and info.st_uid != owner:
            result.refused.append((rel, f"belongs to uid {info.st_uid}, not to the student"))
            continue
        if stat.S_ISDIR(info.st_mode):
            try:
                sub = os.open(entry.name, _DIR_FLAGS, dir_fd=dirfd)
            except OSError as error:
                result.refused.append((rel + "/", f"cannot be read ({error.strerror})"))
                continue
            try:
                _scan(sub, rel + "/", dest, owner, exclude, result)
            finally:
                os.close(sub)
            continue
        if not stat.S_ISREG(info.st_mode):
            result.refused.append((rel, describe_mode(info.st_mode)))
            continue
        if any(fnmatch.fnmatch(entry.name, pattern) for pattern in exclude):
            continue
        _accept(dirfd, entry.name, rel, dest, owner, result)


def _accept(dirfd, name, rel, dest, owner, result):
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dirfd)
    except OSError as error:  # swapped for a link since the listing: ELOOP
        result.refused.append((rel, f"cannot be opened as a regular file ({error.strerror})"))
        return
    try:
        info = os.fstat(fd)  # of what was opened, not of what was listed
        if not stat.S_ISREG(info.st_mode):
            result.refused.append((rel, describe_mode(info.st_mode)))
        elif info.st_nlink > 1:
            result.refused.append((rel, f"a hard link ({info.st_nlink} names for one file)"))
        elif owner is not None and info.st_uid != owner:
            result.refused.append((rel, f"belongs to uid {info.st_uid}, not to the student"))
        elif len(result.files) >= MAX_FILES:
            result.refused.append((rel, f"more than {MAX_FILES} files"))
        elif result.size + info.st_size > MAX_BYTES:
            result.refused.append((rel, f"the files are larger than {MAX_BYTES >> 20} MiB in all"))
        else:
            result.files.append(rel)
            result.size += info.st_size
            if dest is not None:
                _copy(fd, os.path.join(dest, rel))
    finally:
        os.close(fd)


def _copy(fd, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with os.fdopen(os.dup(fd), "rb") as source, open(target, "xb") as out:
        while True:
            chunk = source.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
    os.chmod(target, 0o644)


def change_time(scan_result):
    """Return the scan's latest change as an aware UTC datetime (the server's clock, not the student's)."""
    return datetime.datetime.fromtimestamp(scan_result.latest_change, datetime.UTC)


def quarantine(folder, refused, where):
    """Move the refused entries of `folder` into `where` (kept, never deleted); return what moved."""
    moved = []
    for rel, reason in refused:
        if rel == ".":
            continue
        source = os.path.join(folder, rel.rstrip("/"))
        target = os.path.join(where, rel.rstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.rename(source, target)
            moved.append(f"{rel}: {reason}")
        except OSError as error:
            moved.append(f"{rel}: {reason} (could not be moved aside: {error.strerror})")
    return moved


def guard(folder, quarantine_root):
    """Move whatever in a submitted folder is not a regular file aside; return the notes.

    `folder` is grader/submitted/<student>/<assignment>. A refused entry moves
    to <quarantine_root>/<student>/<assignment>/, with REFUSED.txt saying why,
    before nbgrader copies or reads anything. A folder that is itself a link
    moves aside whole.
    """
    assignment = os.path.basename(folder)
    student = os.path.basename(os.path.dirname(folder))
    where = os.path.join(quarantine_root, student, assignment)
    if not os.path.lexists(folder):
        return []
    try:
        found = scan(folder)
        refused = found.refused
    except OSError:  # the folder itself is a link (ELOOP) or not a folder
        refused = [(".", "the submission folder is " + describe_mode(os.lstat(folder).st_mode))]
    if not refused:
        return []
    if refused[0][0] == ".":
        os.makedirs(os.path.dirname(where), exist_ok=True)
        os.rename(folder, where)
        notes = [f"{student}/{assignment}: {refused[0][1]}; moved to {where}"]
    else:
        notes = [f"{student}/{assignment}/{n}" for n in quarantine(folder, refused, where)]
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, "REFUSED.txt"), "a") as fh:
        fh.write("".join(note + "\n" for note in notes))
    return notes


def pre_convert_hook(quarantine_root):
    """Return an nbgrader pre_convert_hook that guards each submission before it is graded.

    nbgrader calls it for each submission before copying its files; it passes
    the submission's notebooks (grader/submitted/<student>/<assignment>/*.ipynb),
    from which the folder is known. A notebook that had to move aside leaves
    the list, so nbgrader records it as missing.
    """

    def hook(assignment=None, student=None, notebooks=None):
        if not notebooks:
            return
        folder = os.path.dirname(os.path.abspath(notebooks[0]))
        try:
            notes = guard(folder, quarantine_root)
        except Exception as error:  # noqa: BLE001 -- nbgrader would swallow it and grade unguarded
            notes = [f"{folder} could not be checked ({error}); not graded"]
            notebooks.clear()
        for note in notes:
            print(f"REFUSED {note}", file=sys.stderr, flush=True)
        notebooks[:] = [n for n in notebooks if os.path.isfile(n) and not os.path.islink(n)]

    return hook
