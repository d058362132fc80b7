"""Scratch copies of the course and student submissions, for the grading and red-team tests.

The tests run the real nbgrader commands on a scratch copy of a course root.
The course root is this repository unless GRADING_COURSE_ROOT names another.
Every assignment under its source/ is graded, plus the toy assignment in
tests/grading/toy_course, which also exercises hangs and crashes.
"""

import copy
import os
import shutil
import subprocess
import sys

import nbformat
from nbgrader.api import Gradebook

from grader.course import assignments, course_directory, nbgrader_env, notebooks, run_nbgrader
from tests.grading.wrong_answers import WRONG_ANSWERS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COURSE_ROOT = os.path.abspath(os.environ.get("GRADING_COURSE_ROOT", REPO))
TOY_SOURCE = os.path.join(REPO, "tests", "grading", "toy_course", "source")

GENERATED = (
    "submitted",
    "autograded",
    "feedback",
    "solution",
    "exchange",
    "downloaded",
    "logs",
    "reports",
    "gradebook.db",
    "gradebook.db-journal",
    "grades.csv",
    "__pycache__",
)
DUE_DATE = "2030-01-01 12:00:00 UTC"
LATE_TIMESTAMP = "2030-01-03 12:01:00 UTC"  # two days and one minute late
LATE_SECONDS = 2 * 86400 + 60


def course_cases():
    """Return (course, assignment) pairs to grade: the toy, then the course's own."""
    cases = [("toy", name) for name in assignments(os.path.dirname(TOY_SOURCE))]
    return cases + [("course", name) for name in assignments(COURSE_ROOT)]


def make_scratch_course(dest, source=None):
    """Copy the course's configuration and notebooks into `dest` and return it.

    Only nbgrader_config.py, grader/ (without anything grading produced),
    source/ (from `source` when given) and release/ are copied.
    """
    os.makedirs(dest, exist_ok=True)
    shutil.copy(os.path.join(COURSE_ROOT, "nbgrader_config.py"), dest)
    shutil.copytree(
        os.path.join(COURSE_ROOT, "grader"),
        os.path.join(dest, "grader"),
        ignore=lambda folder, names: [n for n in names if n in GENERATED],
    )
    shutil.copytree(source or os.path.join(COURSE_ROOT, "source"), os.path.join(dest, "source"))
    if source is None and os.path.isdir(os.path.join(COURSE_ROOT, "release")):
        shutil.copytree(os.path.join(COURSE_ROOT, "release"), os.path.join(dest, "release"))
    return str(dest)


def nbgrader_ok(root, *args):
    """Run an nbgrader command in `root` and fail the test if it fails."""
    result = run_nbgrader(list(args), root)
    assert result.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result


def read_nb(path):
    """Return the notebook at `path`."""
    return nbformat.read(path, as_version=4)


def grade_id(cell):
    """Return a cell's nbgrader grade_id, or None."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_test_cell(cell):
    """Is this an autograded test cell (graded, code, not an answer)?"""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def wrong_answer(assignment, source_nbs, release_nbs):
    """Return (notebook, {grade_id: new source}, [failing test ids]) for a realistic wrong answer.

    Uses tests/grading/wrong_answers.py. An assignment without an entry gets
    its last answered-and-tested solution cell reset to the release stub; the
    tests between that cell and the next solution cell must then fail.
    """
    if assignment in WRONG_ANSWERS:
        entry = WRONG_ANSWERS[assignment]
        return entry["notebook"], entry["cells"], entry["failing"]
    for name in sorted(source_nbs, reverse=True):
        cells = source_nbs[name].cells
        for index in reversed(range(len(cells))):
            meta = cells[index].metadata.get("nbgrader", {})
            if not (meta.get("solution") and cells[index].cell_type == "code"):
                continue
            failing = []
            for later in cells[index + 1 :]:
                if later.metadata.get("nbgrader", {}).get("solution"):
                    break
                if is_test_cell(later):
                    failing.append(grade_id(later))
            if failing:
                stub = next(c for c in release_nbs[name].cells if grade_id(c) == meta["grade_id"])
                return name, {meta["grade_id"]: stub.source}, failing
    raise AssertionError(
        f"{assignment}: expected a solution cell followed by a test cell, found none"
    )


def write_nb(nb, folder, name):
    """Write a notebook into `folder` as `name`.ipynb."""
    os.makedirs(folder, exist_ok=True)
    nbformat.write(nb, os.path.join(folder, name + ".ipynb"))


def build_submissions(root, assignment, late=True):
    """Write one submission per scenario under grader/submitted and return what was planted.

    `late=False` leaves out the late copy of the reference: the late policy is the
    same for every assignment, so the round trip checks it on the toy alone.
    """
    source_dir, release_dir = (os.path.join(root, d, assignment) for d in ("source", "release"))
    names = notebooks(source_dir)
    source_nbs = {n: read_nb(os.path.join(source_dir, n + ".ipynb")) for n in names}
    release_nbs = {n: read_nb(os.path.join(release_dir, n + ".ipynb")) for n in names}

    def submit(student, nbs, timestamp=None):
        folder = os.path.join(root, "grader", "submitted", student, assignment)
        for name, nb in nbs.items():
            write_nb(nb, folder, name)
        if timestamp:
            with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
                fh.write(timestamp)
        return folder

    plan = {"notebooks": names, "late": late}
    submit("reference", source_nbs)
    submit("untouched", release_nbs)
    if late:
        submit("late", source_nbs, LATE_TIMESTAMP)

    name, replacements, failing = wrong_answer(assignment, source_nbs, release_nbs)
    wrong = copy.deepcopy(source_nbs)
    for cell in wrong[name].cells:
        if grade_id(cell) in replacements:
            cell.source = replacements[grade_id(cell)]
    submit("wrong", wrong)
    plan["wrong"] = (name, failing)

    # the last test cell: often below a locked, ungraded cell, where nbgrader 0.9.6 stumbles
    name, cell = next(
        (n, c) for n in names for c in reversed(source_nbs[n].cells) if is_test_cell(c)
    )
    deleted = copy.deepcopy(source_nbs)
    deleted[name].cells = [c for c in deleted[name].cells if grade_id(c) != grade_id(cell)]
    submit("deleted_test", deleted)
    plan["deleted_test"] = (name, grade_id(cell))

    edited = copy.deepcopy(release_nbs)
    target = next(c for c in edited[name].cells if is_test_cell(c))
    target.source = "pass  # the tests were too strict\n"
    submit("edited_locked", edited)
    plan["edited_locked"] = (name, grade_id(target))

    folder = submit("bad_json", source_nbs)
    path = os.path.join(folder, names[0] + ".ipynb")
    with open(path) as fh:
        text = fh.read()
    with open(path, "w") as fh:
        fh.write(text[: len(text) // 2])  # a half-uploaded file

    renamed = {(n + " (1)" if n == names[0] else n): nb for n, nb in source_nbs.items()}
    submit("renamed", renamed)
    return plan


def run_nbgrader_module(root, module, *args):
    """Run `python -m MODULE ARGS` in the course root and return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=root,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )


def autograde_both_ways(root, assignment, env=None, timeout=900):
    """Run `nbgrader autograde` on `root`'s submissions with trusted verdicts off and on, side by side.

    The verdicts-off run grades a copy of the course root made first, so the two
    runs share no gradebook and use the machine's two cores at once. Returns
    {False: the copy's root, True: root}, for gradebook_grades to read.
    """
    roots = {False: root.rstrip("/") + "-verdicts-off", True: root}
    shutil.copytree(root, roots[False], symlinks=True)
    running = {}
    for verdicts, where in roots.items():
        log = open(where + ".autograde.log", "w+")
        running[verdicts] = (subprocess.Popen(
            [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force",
             f"--ResilientExecute.trusted_verdicts={verdicts}"],
            cwd=where, env=env or nbgrader_env(), stdout=log, stderr=subprocess.STDOUT, text=True), log)
    for verdicts, (proc, log) in running.items():
        proc.wait(timeout=timeout)
        log.seek(0)
        assert proc.returncode == 0, f"verdicts {'on' if verdicts else 'off'}:\n{log.read()[-3000:]}"
        log.close()
    return roots


def gradebook_grades(root, assignment, student):
    """Return {notebook: {grade_id: (auto_score, max_score, cell_type)}} from the gradebook."""
    coursedir = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        submission = gb.find_submission(assignment, student)
        return {
            nb.name: {g.name: (g.auto_score, g.max_score, g.cell_type) for g in nb.grades}
            for nb in submission.notebooks
        }


def processes_with(tag):
    """Return the pids of the processes whose command line holds `tag` (a test's unique marker)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if tag.encode() in fh.read():
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found
