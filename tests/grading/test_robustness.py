"""Timeouts and crashes: hanging, interrupt-ignoring and self-killing submissions.

Uses the toy assignment with a short per-cell timeout, passed on the command
line as an instructor would (`--Execute.timeout=4`).
"""

import copy
import glob
import os
import tempfile
import time

import pytest

from grader.course import load_config, run_nbgrader
from tests.grading.course_copy import (
    COURSE_ROOT,
    TOY_SOURCE,
    grade_id,
    gradebook_grades,
    make_scratch_course,
    nbgrader_ok,
    read_nb,
    run_nbgrader_module,
    write_nb,
)

ASSIGNMENT, NOTEBOOK = "00_toy", "toy"
BROKEN_PREDICT = {
    "hangs": "def predict(w, b, X):\n    return 0\nwhile True:\n    pass\n",
    "ignores_interrupt": (
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "def predict(w, b, X):\n    return 0\nwhile True:\n    time.sleep(0.1)\n"
    ),
    "kills_kernel": "import os\nos._exit(1)\n",
}


pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """Grade one healthy and three broken submissions of the toy assignment."""
    root = make_scratch_course(tmp_path_factory.mktemp("crashes"), TOY_SOURCE)
    nbgrader_ok(root, "generate_assignment", ASSIGNMENT, "--force")
    source = read_nb(os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    folder = os.path.join(root, "grader", "submitted", "{}", ASSIGNMENT)
    write_nb(source, folder.format("healthy"), NOTEBOOK)
    for student, code in BROKEN_PREDICT.items():
        nb = copy.deepcopy(source)
        next(c for c in nb.cells if grade_id(c) == "predict").source = code
        write_nb(nb, folder.format(student), NOTEBOOK)
    result = run_nbgrader_module(root, "grader.autograde_class", ASSIGNMENT, "--Execute.timeout=4")
    return root, result


def test_configured_timeout_fits_training_cells():
    """Is the per-cell timeout well above the ~20 s the course's training cells take?"""
    config = load_config(COURSE_ROOT)
    assert config.Execute.timeout >= 60
    assert config.Execute.interrupt_on_timeout is True


def test_broken_submissions_do_not_stop_the_class(crashed):
    """Are all four submissions graded, the broken ones without failing the run?"""
    root, result = crashed
    assert result.returncode == 0, result.stdout + result.stderr
    assert "graded: 4" in result.stdout and "failed: 0" in result.stdout


@pytest.mark.parametrize("student", sorted(BROKEN_PREDICT))
def test_broken_cells_score_zero_and_earlier_cells_keep_points(crashed, student):
    """Does a broken submission keep points for what ran before and get zero for the rest?"""
    root, _ = crashed
    grades = gradebook_grades(root, ASSIGNMENT, student)[NOTEBOOK]
    assert grades["test_sigmoid"][0] == 2
    assert grades["test_predict"][0] == 0 and grades["test_train"][0] == 0


@pytest.mark.parametrize(
    "student, reason",
    [
        ("ignores_interrupt", "cell 'predict' ran past the 4 s limit and ignored the interrupt"),
        ("kills_kernel", "the kernel died while running cell 'predict'"),
    ],
)
def test_stopped_kernel_reason_is_recorded(crashed, student, reason):
    """Is the reason a kernel was stopped kept in the notebook, its cells and the summary?"""
    root, result = crashed
    nb = read_nb(
        os.path.join(root, "grader", "autograded", student, ASSIGNMENT, NOTEBOOK + ".ipynb")
    )
    assert nb.metadata["grader"]["incident"] == reason
    test = next(c for c in nb.cells if grade_id(c) == "test_train")
    assert test.outputs[0].ename == "NotRun" and reason in test.outputs[0].evalue
    assert f"{student}: {NOTEBOOK}.ipynb: {reason}" in result.stdout


def test_interruptible_hang_is_interrupted_and_the_rest_runs(crashed):
    """Does an interruptible hang lose only its own cell while later cells still run?"""
    root, _ = crashed
    nb = read_nb(
        os.path.join(root, "grader", "autograded", "hangs", ASSIGNMENT, NOTEBOOK + ".ipynb")
    )
    assert "grader" not in nb.metadata
    cell = next(c for c in nb.cells if grade_id(c) == "predict")
    assert any(o.output_type == "error" for o in cell.outputs)
    training = next(c for c in nb.cells if grade_id(c) == "run_training")
    assert not any(o.get("ename") == "NotRun" for o in training.outputs)


def test_plain_nbgrader_autograde_survives_an_interrupt_ignoring_kernel(crashed):
    """Does plain `nbgrader autograde` (course config) grade an interrupt-ignoring kernel too?"""
    root, _ = crashed
    result = run_nbgrader(
        [
            "autograde",
            ASSIGNMENT,
            "--student",
            "ignores_interrupt",
            "--force",
            "--Execute.timeout=4",
        ],
        root,
    )
    assert result.returncode == 0, result.stderr
    assert gradebook_grades(root, ASSIGNMENT, "ignores_interrupt")[NOTEBOOK]["test_predict"][0] == 0


def test_class_runner_stops_a_submission_at_its_cap_and_grades_the_next(crashed):
    """Is a submission stopped at --student-cap, said so, its kernel gone, the next graded?"""
    root, _ = crashed
    before = temporary_folders()
    start = time.monotonic()
    result = run_nbgrader_module(
        root, "grader.autograde_class", ASSIGNMENT, "--student", "hangs", "--student", "healthy",
        "--force", "--student-cap", "6", "--Execute.timeout=120",
    )
    assert time.monotonic() - start < 60
    assert result.returncode == 1, result.stdout + result.stderr
    assert "hangs: stopped at the cap of 6 s per submission (--student-cap)" in result.stdout
    assert "graded: 1" in result.stdout and "failed: 1" in result.stdout
    assert gradebook_grades(root, ASSIGNMENT, "healthy")[NOTEBOOK]["test_train"][0] > 0
    with open(os.path.join(root, "grader", "logs", ASSIGNMENT, "hangs.log")) as fh:
        assert fh.read().rstrip().endswith("killed after 6 s")
    # the confined kernel dies with its nbgrader process (bwrap --die-with-parent)
    folder = os.path.join(root, "grader", "autograded", "hangs", ASSIGNMENT).encode()
    deadline = time.monotonic() + 10
    while kernels_of(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels_of(folder)
    # and so did its temporary folders (the sandbox's sockets, the verdict worker's)
    assert temporary_folders() <= before


def temporary_folders():
    """Return the grader's temporary folders that exist now."""
    return {
        path
        for prefix in ("nbg-run-", "nbg-sbx-", "nbg-verdict-")
        for path in glob.glob(os.path.join(tempfile.gettempdir(), prefix + "*"))
    }


def kernels_of(folder):
    """Return the pids of processes whose command line names `folder` (bytes)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if folder in fh.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass  # the process ended meanwhile
    return found
