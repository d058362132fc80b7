"""Gradebook integrity: only the grader writes the gradebook, and a run checks it.

Wired from the course configuration for plain `nbgrader autograde`:

* `GradebookJournal`, a preprocessor after SaveAutoGrades, journals every
  auto score the grader has just written; the journal is kept in
  grader/logs/gradebook_journal.json (student code never sees grader/).
* `pre_convert_hook` / `post_convert_hook` (c.Autograde.*) bracket each
  submission. Before the first one, every journaled score from earlier runs is
  compared with the gradebook; before each later one, the gradebook file must
  be byte-identical to what it was after the previous submission.
* At exit, every score journaled is compared with the gradebook once more.
  The verdict goes to stderr ("gradebook integrity: ...") and to
  grader/logs/gradebook_integrity.json; grader.autograde_class repeats it in
  its summary.

Only auto scores are journaled: manual grades and comments legitimately change
between runs (formgrader), and are not protected here.
"""

import atexit
import hashlib
import json
import os
import sys
import time
import warnings

from nbgrader.api import (
    Assignment,
    Grade,
    Gradebook,
    GradeCell,
    Notebook,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.preprocessors import NbGraderPreprocessor

JOURNAL = "gradebook_journal.json"
REPORT = "gradebook_integrity.json"

_state = {"db_url": None, "db": None, "logs": None, "last_hash": None, "events": [], "journal": {},
          "checked_before": False, "installed": False}


def db_path(db_url):
    """Return the file of an sqlite:/// URL."""
    return db_url[len("sqlite:///"):] if db_url.startswith("sqlite:///") else None


def logs_dir(db_url):
    """Return the folder of the journal: grader/logs beside an SQLite gradebook, else the installed one."""
    path = db_path(db_url)
    if path:
        return os.path.join(os.path.dirname(path), "logs")
    if _state["logs"]:
        return _state["logs"]
    raise ValueError(f"a gradebook at {db_url.split('@')[-1]} needs install(c, db_url, logs=FOLDER) first")


def journal_name(db_url):
    """The journal's file name: one per gradebook, so that a course moved to PostgreSQL starts afresh."""
    if db_path(db_url):
        return JOURNAL
    return JOURNAL.replace(".json", f"-{hashlib.sha256(db_url.encode()).hexdigest()[:12]}.json")


def _hash(path):
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except (FileNotFoundError, TypeError):
        return None


def load_journal(db_url):
    """Return the persisted journal {"student/assignment/notebook/grade": auto_score}."""
    try:
        with open(os.path.join(logs_dir(db_url), journal_name(db_url))) as fh:
            return json.load(fh)
    except (FileNotFoundError, ValueError):
        return {}


def record(db_url, entries):
    """Merge `entries` ({key: auto_score}) into the persisted journal."""
    folder = logs_dir(db_url)
    os.makedirs(folder, exist_ok=True)
    journal = load_journal(db_url)
    journal.update(entries)
    tmp = os.path.join(folder, journal_name(db_url) + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(journal, fh, indent=0, sort_keys=True)
    os.replace(tmp, os.path.join(folder, journal_name(db_url)))


def key(student, assignment, notebook, grade):
    return f"{student}/{assignment}/{notebook}/{grade}"


def auto_scores(gb):
    """Return every auto score in the gradebook as {key(student, assignment, notebook, grade): score}.

    One query, so that checking a whole class's journal after every student
    stays cheap.
    """
    rows = (gb.db.query(SubmittedAssignment.student_id, Assignment.name, Notebook.name, GradeCell.name,
                        Grade.auto_score)
            .select_from(Grade)
            .join(GradeCell, Grade.cell_id == GradeCell.id)
            .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
            .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id))
    return {key(student, assignment, notebook, grade): score
            for student, assignment, notebook, grade, score in rows}


def verify(db_url, course_id="", journal=None):
    """Compare journaled auto scores with the gradebook; return (checked, [problems])."""
    journal = load_journal(db_url) if journal is None else journal
    problems = []
    if not journal:
        return 0, problems
    with Gradebook(db_url, course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        have = auto_scores(gb)
    for name, want in sorted(journal.items()):
        got = have.get(name, "missing")
        if got != want:
            problems.append(f"grade {name} is {got}, the grader wrote {want}")
    return len(journal), problems


def pre_convert_hook(assignment=None, student=None, notebooks=None):
    """Before a submission: check the gradebook is as the grader left it."""
    if not _state["checked_before"]:
        _state["checked_before"] = True
        _, problems = verify(_state["db_url"])
        _state["events"] += [f"before this run: {p}" for p in problems]
    current = _hash(_state["db"])
    if _state["last_hash"] is not None and current != _state["last_hash"]:
        _state["events"].append(
            f"the gradebook file changed outside the grader before grading {student}/{assignment}"
        )
    _state["last_hash"] = current


def post_convert_hook(assignment=None, student=None, notebooks=None):
    """After a submission: persist what the grader wrote, remember the file's hash."""
    if _state["journal"]:
        record(_state["db_url"], _state["journal"])
    _state["last_hash"] = _hash(_state["db"])


class GradebookJournal(NbGraderPreprocessor):
    """Journal the auto scores SaveAutoGrades has just written for this notebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"], info.get("course_id", "")) as gb:
            notebook = gb.find_submission_notebook(
                info["notebook"], info["assignment"], info["student"]
            )
            for grade in notebook.grades:
                name = key(info["student"], info["assignment"], info["notebook"], grade.name)
                _state["journal"][name] = grade.auto_score
        return nb, resources


def finish():
    """The integrity step that ends every grading process; writes and returns its report.

    Compares every score ever journaled (this run's and earlier runs') with the
    gradebook, and adds what the hooks saw change between submissions. Runs at
    exit for plain `nbgrader autograde`; grader.autograde_class's children,
    which end with os._exit (no atexit), call it themselves after each student.
    The verdict goes to stderr and to grader/logs/gradebook_integrity.json.
    """
    if not (_state["journal"] or _state["events"]) or _state["db_url"] is None:
        return None
    if _state["journal"]:
        record(_state["db_url"], _state["journal"])
    problems = list(_state["events"])
    if _state["last_hash"] is not None and _hash(_state["db"]) != _state["last_hash"]:
        problems.append("the gradebook file changed after the last submission was graded")
    checked, later = verify(_state["db_url"])
    problems += later
    report = {"time": time.time(), "ok": not problems, "checked_grades": checked,
              "problems": problems}
    try:
        with open(os.path.join(logs_dir(_state["db_url"]), REPORT), "w") as fh:
            json.dump(report, fh, indent=1)
    except OSError:
        pass
    if problems:
        sys.stderr.write("GRADEBOOK INTEGRITY PROBLEMS (changed outside the grader):\n  "
                         + "\n  ".join(problems) + "\n")
    else:
        sys.stderr.write(f"gradebook integrity: OK ({checked} grades the grader wrote "
                         "checked; nothing else changed the gradebook)\n")
    _state["journal"], _state["events"] = {}, []
    return report


def install(c, db_url, logs=None):
    """Wire the journal hooks into config `c` for the gradebook at `db_url`.

    `logs` is where the journal lives for a gradebook that is not an SQLite
    file (PostgreSQL); an SQLite gradebook keeps it in logs/ beside the file.
    For a server, only auto scores are journaled; the file-hash check between
    submissions applies to SQLite alone.
    """
    _state["db_url"], _state["db"], _state["logs"] = db_url, db_path(db_url), logs
    c.Autograde.pre_convert_hook = pre_convert_hook
    c.Autograde.post_convert_hook = post_convert_hook
    if not _state["installed"]:
        _state["installed"] = True
        atexit.register(finish)
