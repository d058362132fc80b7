"""Which gradebook the course grades into, and reaching it.

SQLite (one file, grader/gradebook.db) is the default: right for one
instructor grading on one machine. When several people grade at once, or a
class is graded on a cluster, point the course at PostgreSQL: set
`GRADEBOOK_URL` at the top of grader/nbgrader_config.py, or the environment
variable NN_COURSE_DB_URL, to a URL such as ``postgresql://grader@dbhost/course``.

Who writes: nbgrader's commands write the gradebook they are configured
with. Under `grader.autograde_class --workers N` only the coordinator writes:
the workers grade into private scratch gradebooks and send their results back,
so SQLite's single writer is never contended and PostgreSQL sees one client
per coordinator (several coordinators, or an instructor in formgrader at the
same time, are fine on PostgreSQL).

A configured PostgreSQL that cannot be reached stops the command with an
error that names it; nothing ever falls back to SQLite.
"""

import importlib.util
import os
import re
import sys
import time

ENV = "NN_COURSE_DB_URL"
PATIENCE_SECONDS = 30.0  # how long a write waits for a gradebook that went away


_announced = set()


class GradebookUnreachable(RuntimeError):
    """The configured gradebook cannot be reached: nothing can be graded into it."""


def url(configured, default):
    """Return the gradebook URL: NN_COURSE_DB_URL, else the configured one, else `default` (SQLite)."""
    return os.environ.get(ENV) or configured or default


def describe(db_url):
    """Return the gradebook URL for a log line, with any password hidden."""
    shown = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", db_url)
    kind = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite" if db_url.startswith("sqlite") else "?"
    return f"{kind} {shown}"


def check(db_url, timeout=5):
    """Connect to the gradebook's server once; raise GradebookUnreachable, naming it, if it cannot be reached.

    SQLite needs no server: a missing file is created by nbgrader on first use.
    """
    if not db_url.startswith("postgresql"):
        return
    import sqlalchemy

    engine = None
    try:
        engine = sqlalchemy.create_engine(db_url, connect_args={"connect_timeout": timeout})
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 -- every way of failing means the same here
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GradebookUnreachable(
            f"the gradebook {describe(db_url)} cannot be reached ({first}); nothing was graded, "
            f"and the course never falls back to SQLite. Start the server, or fix GRADEBOOK_URL in "
            f"grader/nbgrader_config.py or {ENV}") from None
    finally:
        if engine is not None:
            engine.dispose()


def retrying(write, db_url, patience=PATIENCE_SECONDS, pause=0.5):
    """Run `write()` until it succeeds, riding out a gradebook that goes away for a while.

    A write that fails because the database cannot be reached (a PostgreSQL
    restart, a network blip, a locked SQLite file) is retried with growing
    pauses for up to `patience` seconds; then GradebookUnreachable stops the
    run. Grades written before stay written: each write is one transaction.
    """
    from sqlalchemy.exc import DBAPIError, OperationalError

    deadline = time.monotonic() + patience
    while True:
        try:
            return write()
        except (OperationalError, DBAPIError) as error:
            if not _is_connection_problem(error) or time.monotonic() + pause > deadline:
                if _is_connection_problem(error):
                    raise GradebookUnreachable(
                        f"the gradebook {describe(db_url)} was unreachable for {patience:g} s "
                        f"({str(error.orig or error).strip().splitlines()[0]}); grading stopped, "
                        "and every grade written before is intact") from None
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _is_connection_problem(error):
    text = str(getattr(error, "orig", None) or error).lower()
    return bool(getattr(error, "connection_invalidated", False)) or any(words in text for words in (
        "could not connect", "connection refused", "server closed the connection", "terminating connection",
        "connection to server", "database is locked", "no such file or directory", "the database system is",
        "ssl syscall", "connection already closed"))


def alembic_head():
    """The schema revision nbgrader stamps on a new gradebook, read from its migration scripts here.

    nbgrader.api.get_alembic_version() reads the same scripts by running
    `alembic heads` in a subprocess, which needs `alembic` on PATH and costs
    1.5 CPU s for every new gradebook (each worker's scratch one, each test's
    course); reading them in this process takes 0.1 s.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    (head,) = ScriptDirectory(ALEMBIC_DIR).get_heads()
    return head


def stamp_in_process():
    """Make nbgrader stamp each new gradebook with alembic_head(), not a subprocess (grader/nbgrader_config.py)."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def _guard_commands():
    """The nbgrader subcommands that work on the gradebook, from the wrong-folder guard (their one home)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_config", "nbgrader_config.py")
    spec = importlib.util.spec_from_file_location("_nbgrader_guard", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # it checks this process's own command line, as when nbgrader loads it
    return module.INSTRUCTOR_COMMANDS, module._subcommand


def announce(db_url, argv):
    """For an instructor command in `argv`: say which gradebook it uses, and stop if it is unreachable.

    Returns the subcommand, or None for commands that do not touch the gradebook.
    """
    commands, subcommand = _guard_commands()
    command = subcommand(argv)
    if command not in commands or db_url in _announced:  # nbgrader loads its config more than once
        return None
    _announced.add(db_url)
    print(f"gradebook: {describe(db_url)}", file=sys.stderr, flush=True)
    try:
        check(db_url)
    except GradebookUnreachable as error:
        raise SystemExit(f"nbgrader {command}: {error}") from None
    return command
