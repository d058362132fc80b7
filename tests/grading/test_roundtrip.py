"""Autograde round trip: real nbgrader commands on a scratch copy of the course.

For each assignment (see tests/grading/course_copy.py, course_cases) one module-scoped
fixture releases the assignment, plants one submission per scenario and
grades the class with `python -m grader.autograde_class`, which runs
`nbgrader autograde --student` per student. The tests then read nbgrader's
gradebook, the autograded notebooks and the feedback.
"""

import csv
import html
import math
import os

import pytest
from nbgrader.api import Gradebook

from grader.check_release import secret_lines
from grader.course import course_directory
from tests.grading.course_copy import (
    DUE_DATE,
    LATE_SECONDS,
    TOY_SOURCE,
    build_submissions,
    course_cases,
    grade_id,
    gradebook_grades,
    make_scratch_course,
    nbgrader_ok,
    read_nb,
    run_nbgrader_module,
)

pytestmark = pytest.mark.grading


@pytest.fixture(scope="module", params=course_cases(), ids=lambda case: f"{case[0]}-{case[1]}")
def graded(request, tmp_path_factory):
    """Autograde every scenario of one assignment in a scratch course; return the facts."""
    kind, assignment = request.param
    root = make_scratch_course(
        tmp_path_factory.mktemp(f"course-{assignment}"), TOY_SOURCE if kind == "toy" else None
    )
    nbgrader_ok(root, "generate_assignment", assignment, "--force")
    nbgrader_ok(root, "db", "assignment", "add", assignment, f"--duedate={DUE_DATE}")
    plan = build_submissions(root, assignment, late=kind == "toy")
    result = run_nbgrader_module(root, "grader.autograde_class", assignment)
    return {"root": root, "assignment": assignment, "plan": plan, "autograde": result}


def code_grades(grades):
    """Return {(notebook, grade_id): (auto_score, max_score)} for autograded (code) cells."""
    return {
        (nb, gid): (auto, top)
        for nb, cells in grades.items()
        for gid, (auto, top, cell_type) in cells.items()
        if cell_type == "code"
    }


def autograded_nb(graded, student, notebook):
    """Return a student's autograded notebook."""
    return read_nb(
        os.path.join(
            graded["root"],
            "grader",
            "autograded",
            student,
            graded["assignment"],
            notebook + ".ipynb",
        )
    )


def test_class_run_reports_only_the_broken_json(graded):
    """Does grading the class go on past a notebook that is not valid JSON, and say so?"""
    out = graded["autograde"].stdout
    assert graded["autograde"].returncode == 1, out
    assert "failed: 1" in out, out
    assert "bad_json: a notebook is not valid JSON" in out, out
    for student in (
        "reference",
        "untouched",
        "wrong",
        "deleted_test",
        "edited_locked",
        "renamed",
    ) + (("late",) if graded["plan"]["late"] else ()):
        assert f"] {student} ... graded" in out, out


def test_reference_solution_gets_full_marks(graded):
    """Does the reference solution get every autograded point?"""
    grades = code_grades(gradebook_grades(graded["root"], graded["assignment"], "reference"))
    assert grades and all(auto == top for auto, top in grades.values()), grades


def test_grading_adds_no_noise_to_the_outputs(graded):
    """Does the reference solution's autograded notebook print nothing on stderr?

    The confined kernel must find matplotlib's font cache (otherwise it rebuilds
    it, calls fc-list and prints a Fontconfig error into the student's feedback).
    """
    folder = os.path.join(graded["root"], "grader", "autograded", "reference", graded["assignment"])
    for name in sorted(os.listdir(folder)):
        if name.endswith(".ipynb"):
            nb = read_nb(os.path.join(folder, name))
            stderr = [
                output.text
                for cell in nb.cells
                for output in cell.get("outputs", [])
                if output.output_type == "stream" and output.name == "stderr"
            ]
            assert not stderr, f"{name}: {stderr}"


def test_untouched_release_scores_zero(graded):
    """Does the untouched release score zero on every autograded cell?"""
    grades = code_grades(gradebook_grades(graded["root"], graded["assignment"], "untouched"))
    assert grades and all(auto == 0 for auto, _ in grades.values()), grades


def test_wrong_answer_fails_the_right_test(graded):
    """Does a realistic wrong answer get partial marks, failing exactly the expected tests?"""
    _, failing = graded["plan"]["wrong"]
    grades = code_grades(gradebook_grades(graded["root"], graded["assignment"], "wrong"))
    failed = {gid for (nb, gid), (auto, top) in grades.items() if auto < top}
    assert failed == {gid for gid in failing}, grades
    assert 0 < sum(auto for auto, _ in grades.values()) < sum(top for _, top in grades.values())


def test_deleted_test_cell_is_restored_and_scores_zero(graded):
    """Does autograde restore a deleted test cell and score it zero?"""
    notebook, deleted = graded["plan"]["deleted_test"]
    grades = code_grades(gradebook_grades(graded["root"], graded["assignment"], "deleted_test"))
    assert grades[(notebook, deleted)][0] == 0
    assert all(auto == top for key, (auto, top) in grades.items() if key != (notebook, deleted)), (
        grades
    )
    restored = [
        c for c in autograded_nb(graded, "deleted_test", notebook).cells if grade_id(c) == deleted
    ]
    assert len(restored) == 1 and restored[0].metadata["grader"]["restored"] is True
    assert any(o.get("ename") == "RestoredCell" for o in restored[0].outputs)


def test_edited_locked_cell_is_restored(graded):
    """Does autograde put back the instructor's version of an edited locked cell?"""
    notebook, edited = graded["plan"]["edited_locked"]
    cell = next(
        c for c in autograded_nb(graded, "edited_locked", notebook).cells if grade_id(c) == edited
    )
    assert "the tests were too strict" not in cell.source
    source = next(
        c
        for c in read_nb(
            os.path.join(graded["root"], "source", graded["assignment"], notebook + ".ipynb")
        ).cells
        if grade_id(c) == edited
    )
    assert cell.source == source.source  # hidden tests included, as in the gradebook
    grades = code_grades(gradebook_grades(graded["root"], graded["assignment"], "edited_locked"))
    assert grades[(notebook, edited)][0] == 0


def test_renamed_notebook_scores_zero_with_a_note(graded):
    """Does a renamed (so missing) notebook score zero and get named in the summary?"""
    first = graded["plan"]["notebooks"][0]
    grades = gradebook_grades(graded["root"], graded["assignment"], "renamed")
    assert all(auto == 0 for auto, _, _ in grades[first].values()), grades
    assert (
        f"renamed: missing notebook(s): {first}.ipynb (found instead: {first} (1).ipynb)"
        in graded["autograde"].stdout
    )


TOY = [case for case in course_cases() if case[0] == "toy"]


@pytest.mark.parametrize("graded", TOY, indirect=True, ids=lambda case: f"{case[0]}-{case[1]}")
def test_late_submission_is_penalised_per_policy(graded):
    """Is a submission two days late penalised 10% of its score per started day?"""
    coursedir = course_directory(graded["root"])
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        late = gb.find_submission(graded["assignment"], "late")
        on_time = gb.find_submission(graded["assignment"], "reference")
        assert late.total_seconds_late == pytest.approx(LATE_SECONDS)
        assert on_time.late_submission_penalty in (0, None)
        days = math.ceil((LATE_SECONDS - 15 * 60) / 86400)
        assert late.late_submission_penalty == pytest.approx(late.score * 0.10 * days)


def test_feedback_shows_failures_but_never_hidden_tests(graded):
    """Does the HTML feedback show the failed test's message but not the hidden test source?"""
    root, assignment = graded["root"], graded["assignment"]
    nbgrader_ok(root, "generate_feedback", assignment)
    notebook, failing = graded["plan"]["wrong"]
    feedback = os.path.join(root, "grader", "feedback", "wrong", assignment, notebook + ".html")
    with open(feedback) as fh:
        page = html.unescape(fh.read())
    autograded = autograded_nb(graded, "wrong", notebook)
    for cell in autograded.cells:
        if grade_id(cell) in failing:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert errors and f"{errors[0].ename}: {errors[0].evalue}" in page
    source = read_nb(os.path.join(root, "source", assignment, notebook + ".ipynb"))
    leaked = sorted(line for line in secret_lines(source, kinds=("HIDDEN TESTS",)) if line in page)
    assert not leaked, f"hidden test source in feedback: {leaked[:3]}"


def test_export_writes_every_student_to_csv(graded):
    """Does `nbgrader export` write a CSV row per student with the reference at full marks?"""
    root, assignment = graded["root"], graded["assignment"]
    nbgrader_ok(root, "export")
    with open(os.path.join(root, "grader", "grades.csv")) as fh:
        rows = {
            row["student_id"]: row for row in csv.DictReader(fh) if row["assignment"] == assignment
        }
    assert {"reference", "untouched", "wrong", "bad_json", "renamed"} <= set(rows)
    grades = code_grades(gradebook_grades(root, assignment, "reference"))
    assert float(rows["reference"]["raw_score"]) >= sum(top for _, top in grades.values())
    if graded["plan"]["late"]:
        assert float(rows["late"]["late_submission_penalty"]) > 0


def test_item_analysis_counts_failures_per_test(graded):
    """Does the item analysis count, per test, the students who failed it, and plot it?"""
    root, assignment = graded["root"], graded["assignment"]
    result = run_nbgrader_module(root, "grader.item_analysis", assignment)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(os.path.join(root, "grader", "reports", f"item_analysis_{assignment}.csv")) as fh:
        rows = {(r["notebook"], r["grade_id"]): r for r in csv.DictReader(fh)}
    notebook, failing = graded["plan"]["wrong"]
    for gid in failing:
        row = rows[(notebook, gid)]
        assert int(row["failed"]) >= 3  # untouched, edited_locked and wrong at least
    assert (
        os.path.getsize(os.path.join(root, "grader", "reports", f"item_analysis_{assignment}.png"))
        > 0
    )
