"""Wrong-folder guard: stop instructor nbgrader commands run outside a course root.

nbgrader takes the folder it runs from as the course root and, when no
gradebook exists there, silently creates a new empty gradebook.db. Install
this file where nbgrader always reads it, {sys.prefix}/etc/jupyter/
nbgrader_config.py (or point JUPYTER_CONFIG_PATH at this folder). Then an
instructor command (autograde, export, db, ...) run from a folder without
an nbgrader_config.py stops with an error naming the course root to use,
unless the course root or gradebook is given on the command line. Student
commands (validate, fetch_assignment, submit, list) are never stopped. It
is self-contained because it is copied out of the repository.
"""

import os
import sys

INSTRUCTOR_COMMANDS = {
    "assign",
    "autograde",
    "collect",
    "db",
    "export",
    "feedback",
    "formgrader",
    "generate_assignment",
    "generate_feedback",
    "generate_solution",
    "release",
    "release_assignment",
    "release_feedback",
    "zip_collect",
}
ROOT_OPTIONS = (
    "--course-dir",
    "--CourseDirectory.root",
    "--db",
    "--CourseDirectory.db_url",
    "--config",
)
COURSE_MARKER = os.path.join("grader", "nbgrader_config.py")


def _subcommand(argv):
    """Return nbgrader's subcommand in argv, or None when argv isn't nbgrader."""
    program = os.path.basename(argv[0]) if argv else ""
    is_module = (
        program == "__main__.py" and os.path.basename(os.path.dirname(argv[0])) == "nbgrader"
    )
    if program != "nbgrader" and not is_module:
        return None
    words = [a for a in argv[1:] if not a.startswith("-")]
    return words[0] if words else None


def _course_root_above(folder):
    """Return the nearest folder at or above `folder` that holds this course, or None."""
    while True:
        if os.path.isfile(os.path.join(folder, COURSE_MARKER)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def check_course_root(argv, cwd):
    """Return an error message if this nbgrader command would use the wrong course root."""
    if _subcommand(argv) not in INSTRUCTOR_COMMANDS:
        return None
    if any(a.split("=")[0] in ROOT_OPTIONS for a in argv[1:]):
        return None
    if os.path.isfile(os.path.join(cwd, "nbgrader_config.py")):
        return None
    root = _course_root_above(cwd)
    where = (
        f"run it from the course root:\n    cd {root}"
        if root
        else (
            "run it from a course root (a folder with nbgrader_config.py), "
            "or pass --course-dir=PATH"
        )
    )
    return (
        f"nbgrader {_subcommand(argv)}: {cwd} is not a course root (it has no nbgrader_config.py), "
        f"so nbgrader would use or create a separate, empty gradebook.db here.\nInstead, {where}"
    )


_error = check_course_root(sys.argv, os.getcwd())
if _error:
    print(_error, file=sys.stderr)
    raise SystemExit(2)
