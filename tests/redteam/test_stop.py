"""Red team: a run must neither hang on a slow student nor leave anything behind when it is stopped.

Each submission is graded with the real commands on the toy assignment. A slow
student is stopped by one deadline per test cell, however many calls the test
makes. A grading run stopped by SIGTERM (plain `nbgrader autograde`, and the
class runner) removes its sandbox and worker folders and leaves no process of
the student's behind. The class runner's warm verdict-worker server, which
runs outside the sandbox, is out of a student's reach while it listens.
"""

import copy
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest
from nbgrader.api import MissingEntry

from grader.course import nbgrader_env
from tests.grading.course_copy import (
    TOY_SOURCE,
    grade_id,
    gradebook_grades,
    make_scratch_course,
    processes_with,
    read_nb,
    write_nb,
)

pytestmark = pytest.mark.grading
ASSIGNMENT, NOTEBOOK = "00_toy", "toy"
RIGHT = "    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))\n"
SLOW = ('print("REDTEAM-RAN slow_calls", flush=True)\nimport time\n\ndef sigmoid(z):\n    time.sleep(4)\n'
        + RIGHT)  # right, so the test goes on to its next, hidden call
QUICK = "def sigmoid(z):\n" + RIGHT
# every way an instructor grades: plain nbgrader, the class runner one by one and on Dask
EVERY_GRADING_COMMAND = pytest.mark.parametrize(
    "command",
    [["-m", "nbgrader", "autograde", ASSIGNMENT, "--force"],
     ["-m", "grader.autograde_class", ASSIGNMENT, "--force", "--workers", "1"],
     ["-m", "grader.autograde_class", ASSIGNMENT, "--force", "--workers", "2"]],
    ids=["nbgrader-autograde", "class-runner", "class-runner-parallel"])


@pytest.fixture
def course(tmp_path):
    """A released scratch toy course, with its own TMPDIR so that leftovers can be counted."""
    root = make_scratch_course(tmp_path / "course", TOY_SOURCE)
    env = nbgrader_env()
    env["TMPDIR"] = str(tmp_path / "tmp")
    os.mkdir(env["TMPDIR"])
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                         cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return root, env


def submit(root, student, sigmoid_source):
    release = read_nb(os.path.join(root, "release", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    nb = copy.deepcopy(release)
    next(c for c in nb.cells if grade_id(c) == "sigmoid").source = sigmoid_source
    write_nb(nb, os.path.join(root, "grader", "submitted", student, ASSIGNMENT), NOTEBOOK)


def test_one_deadline_covers_a_whole_test_cell(course):
    """Does a function that sleeps 4 s per call stop its test cell at the 5 s limit, not after every call?"""
    root, env = course
    submit(root, "slow", SLOW)
    submit(root, "control", QUICK)
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force",
                          "--Execute.timeout=5"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - start
    assert run.returncode == 0, run.stderr[-3000:]
    nb = read_nb(os.path.join(root, "grader", "autograded", "slow", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "REDTEAM-RAN slow_calls" in text
    test = next(c for c in nb.cells if grade_id(c) == "test_sigmoid")
    assert any("ran past the 5 s limit of a test cell" in o.get("evalue", "") for o in test.outputs), test.outputs
    slow, control = (sum(g[0] or 0 for g in gradebook_grades(root, ASSIGNMENT, s)[NOTEBOOK].values())
                     for s in ("slow", "control"))
    assert slow <= control
    assert seconds < 90, f"the run took {seconds:.0f} s"


def _start_and_stop(command, root, env, tag):
    """Start a grading command on a student that hangs, then SIGTERM it once the sandbox runs."""
    sleeper = (f'print("REDTEAM-RAN sleeper", flush=True)\nimport subprocess, sys, time\n'
               f'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{tag}"])\n'
               "time.sleep(300)\n")
    submit(root, "sleeper", sleeper)
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not processes_with(tag):
        time.sleep(0.2)
    assert processes_with(tag), "the student's process never started"
    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("SIGTERM did not stop the run within 60 s") from None
    time.sleep(1)
    return proc.returncode, output


@EVERY_GRADING_COMMAND
def test_a_stopped_run_leaves_nothing_behind(course, command):
    """Does SIGTERM end the run with no sandbox or worker folder left and no student process alive?"""
    root, env = course
    tag = "redteam-" + uuid.uuid4().hex
    status, output = _start_and_stop([sys.executable, *command], root, env, tag)
    left = [name for name in os.listdir(env["TMPDIR"]) if name.startswith("nbg-")]
    survivors = processes_with(tag)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert status != 0, output[-2000:]
    assert left == [], left
    assert survivors == []


@EVERY_GRADING_COMMAND
def test_a_broken_environment_stops_the_run_and_records_no_grade(course, command):
    """Without the release notebook to plan from, does grading stop at once, say why, and grade no one?"""
    root, env = course
    submit(root, "first", QUICK)
    submit(root, "second", QUICK)
    os.remove(os.path.join(root, "release", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    run = subprocess.run([sys.executable, *command], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "the grading environment is broken" in out and "make release" in out, out[-2000:]
    assert "[2/2]" not in out  # the class runner stopped at its first student
    for student in ("first", "second"):
        try:
            grades = gradebook_grades(root, ASSIGNMENT, student)[NOTEBOOK]
        except MissingEntry:
            continue
        assert all(score is None for score, _, _ in grades.values()), grades


def _grades_recorded(root, students):
    recorded = {}
    for student in students:
        try:
            grades = gradebook_grades(root, ASSIGNMENT, student)[NOTEBOOK]
        except MissingEntry:
            continue
        recorded[student] = {k: v for k, v in grades.items() if v[0] is not None}
    return {student: grades for student, grades in recorded.items() if grades}


@EVERY_GRADING_COMMAND
def test_a_sandbox_that_cannot_import_utils_is_refused_before_any_grade(course, command):
    """When the confined kernel cannot import the course package, does the run stop before any grade, naming both sides?"""
    root, env = course
    submit(root, "first", QUICK)
    submit(root, "second", QUICK)
    with open(os.path.join(root, "grader", "nbgrader_config.py"), "a") as fh:
        fh.write("\nc.SandboxKernelManager.readonly_paths = []  # as if utils came from another checkout\n")
    run = subprocess.run([sys.executable, *command], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-2000:]
    assert "the grading environment is broken" in out and "No module named 'utils'" in out, out[-2000:]
    assert "the grader imported" in out and "[1/2]" not in out, out[-2000:]
    assert _grades_recorded(root, ["first", "second"]) == {}


def test_an_instructor_cell_that_fails_before_student_code_stops_the_run(tmp_path):
    """Does an instructor's setup cell failing in the sandbox stop the run as the environment's fault, not a zero?"""
    source = tmp_path / "source"
    nb = read_nb(os.path.join(TOY_SOURCE, ASSIGNMENT, NOTEBOOK + ".ipynb"))
    setup = next(c for c in nb.cells if grade_id(c) == "setup")
    setup.source += "\nimport json\nSETTINGS = json.load(open('settings.json'))  # a data file the course forgot"
    write_nb(nb, str(source / ASSIGNMENT), NOTEBOOK)
    root = make_scratch_course(tmp_path / "course", str(source))
    env = nbgrader_env()
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root, env=env, capture_output=True, check=True)
    submit(root, "first", QUICK)
    submit(root, "second", QUICK)
    run = subprocess.run([sys.executable, "-m", "grader.autograde_class", ASSIGNMENT, "--workers", "1"], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 2, out[-2000:]
    assert "the course's `setup` cell failed in the sandbox before any student code ran" in out, out[-2000:]
    assert "FileNotFoundError" in out and "the grader imported" in out, out[-2000:]
    assert "[2/2]" not in out
    assert _grades_recorded(root, ["first", "second"]) == {}


def test_the_class_runner_notices_a_gradebook_changed_between_two_students(course):
    """Does the class runner report, with the next student and in its summary, a score changed behind its back?"""
    root, env = course
    submit(root, "a_first", QUICK)
    submit(root, "b_slow", "import time\ntime.sleep(6)\n\n" + QUICK)  # a window while b is graded
    submit(root, "c_last", QUICK)
    proc = subprocess.Popen([sys.executable, "-m", "grader.autograde_class", ASSIGNMENT, "--workers", "1"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    for line in proc.stdout:
        output.append(line)
        if line.startswith("[1/3] a_first ... graded"):
            time.sleep(1)  # b_slow's child is running; now someone edits a_first's grade
            import sqlite3
            db = sqlite3.connect(os.path.join(root, "grader", "gradebook.db"))
            db.execute("UPDATE grade SET auto_score = 99 WHERE notebook_id IN (SELECT submitted_notebook.id FROM "
                       "submitted_notebook JOIN submitted_assignment ON submitted_notebook.assignment_id = "
                       "submitted_assignment.id WHERE submitted_assignment.student_id = 'a_first')")
            db.commit()
            db.close()
    proc.wait(timeout=300)
    out = "".join(output)
    assert "[3/3] c_last ... graded" in out, out[-3000:]
    assert re.search(r"grade a_first/00_toy/toy/\S+ is 99(\.0)?, the grader wrote", out), out[-3000:]
    assert "gradebook integrity: PROBLEMS" in out and proc.returncode == 1, out[-3000:]
    with open(os.path.join(root, "grader", "logs", ASSIGNMENT, "b_slow.log")) as fh:
        assert "GRADEBOOK INTEGRITY PROBLEMS" in fh.read()  # found right after the student it happened during


HUNT = '''print("REDTEAM-RAN warm_server", flush=True)
import glob, os, socket, sys
found = set(glob.glob({tmpdir!r} + "/nbg-verdict-*/*") + glob.glob("/tmp/nbg-verdict-*/*"))
for line in open("/proc/net/unix").read().splitlines()[1:]:
    if "nbg-verdict" in line:
        found.add(line.split()[-1])
for folder, _, names in os.walk("/"):
    if folder.startswith(("/proc", "/sys", "/usr", sys.prefix)):
        continue
    found.update(os.path.join(folder, n) for n in names if "nbg-verdict" in os.path.join(folder, n))
print("REDTEAM-RAN warm_server found", len(found), sorted(found)[:5])
for path in found:
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(2)
        c.connect(path)
        c.sendall(b'{{"cwd": "/tmp", "imports": ["import os"]}}\\n')
        print("CO" "NNECTED", path, c.recv(100))
    except OSError as error:
        print("REDTEAM-RAN warm_server refused", path, type(error).__name__)
'''


def test_a_kernel_cannot_find_or_reach_the_warm_server(course):
    """Does a submission that hunts for the server's socket, while it listens, find and reach nothing?"""
    root, env = course
    submit(root, "hunter", HUNT.format(tmpdir=env["TMPDIR"]) + QUICK)
    submit(root, "control", QUICK)
    run = subprocess.Popen([sys.executable, "-m", "grader.autograde_class", ASSIGNMENT, "--force", "--workers", "1"],
                           cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    listening = set()
    while run.poll() is None:  # the server's socket, where the hunter looks for it
        listening.update(glob.glob(os.path.join(env["TMPDIR"], "nbg-verdict-*", "s")))
        time.sleep(0.1)
    output = run.stdout.read()
    assert run.returncode == 0, output[-3000:]
    assert listening, "expected the class runner's warm server to listen in its TMPDIR"
    nb = read_nb(os.path.join(root, "grader", "autograded", "hunter", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "REDTEAM-RAN warm_server found 0 []" in text, text[-3000:]
    assert "CONNECTED" not in text
