"""Red team on the course's own assignments: hostile submissions beside controls, graded for real.

Each attack of tests/redteam/course_attacks.py and its control (the same
answers without the trick) is graded by one plain `nbgrader autograde` of its
assignment, confined and with trusted verdicts, as an instructor runs it. For
every attack the tests first prove that its code ran (its marker is in the
autograded notebook), then that it gained nothing over its control, read no
line of the instructor's source or the gradebook, and left the test's own
objects alone.
"""

import copy
import json
import os
import subprocess
import sys

import nbformat
import pytest

from grader.check_release import secret_lines
from grader.course import nbgrader_env
from tests.grading.course_copy import (
    grade_id,
    gradebook_grades,
    make_scratch_course,
    read_nb,
    write_nb,
)
from tests.redteam.course_attacks import ATTACKS, CONTROLS, MARKER

pytestmark = pytest.mark.grading
ASSIGNMENTS = sorted({spec["assignment"] for spec in ATTACKS.values()})


def build(release, spec):
    """Return the release notebook with an attack's (or a control's) changes."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if grade_id(cell) in spec.get("cells", {}):
            cell.source = spec["cells"][grade_id(cell)]
    cells = []
    for cell in nb.cells:
        if grade_id(cell) in spec.get("insert_before", {}):
            cells.append(nbformat.v4.new_code_cell(spec["insert_before"][grade_id(cell)]))
        if grade_id(cell) not in spec.get("delete", []) + spec.get("move_to_end", []):
            cells.append(cell)
    cells += [c for c in nb.cells if grade_id(c) in spec.get("move_to_end", [])]
    if spec.get("append"):
        cells.append(nbformat.v4.new_code_cell(spec["append"]))
    nb.cells = cells
    return nb


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Grade every attack on one assignment beside its control, in one autograde run."""
    assignment = request.param
    root = make_scratch_course(tmp_path_factory.mktemp(f"redteam-{assignment}"))
    env = nbgrader_env()
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                         cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    students = {**{n: s for n, s in ATTACKS.items() if s["assignment"] == assignment},
                **{n: s for n, s in CONTROLS.items() if s["assignment"] == assignment}}
    notebook = next(iter(students.values()))["notebook"]
    release = read_nb(os.path.join(root, "release", assignment, notebook + ".ipynb"))
    for student, spec in students.items():
        write_nb(build(release, spec), os.path.join(root, "grader", "submitted", student, assignment), notebook)
    result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"],
                            cwd=root, env=env, capture_output=True, text=True, timeout=900)
    source = read_nb(os.path.join(root, "source", assignment, notebook + ".ipynb"))
    autograded = {s: read_nb(os.path.join(root, "grader", "autograded", s, assignment, notebook + ".ipynb"))
                  for s in students}
    return {"root": root, "result": result, "notebook": notebook, "autograded": autograded,
            "scores": {s: gradebook_grades(root, assignment, s)[notebook] for s in students},
            "secrets": secret_lines(source)}


def attacks_of(graded):
    return [name for name in graded["autograded"] if name in ATTACKS]


def outputs(nb):
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def total(grades):
    return sum(score or 0 for score, _, _ in grades.values())


def test_the_run_grades_every_submission(graded):
    """Does one plain autograde run grade every attack and control, with the gradebook intact?"""
    assert graded["result"].returncode == 0, graded["result"].stderr[-3000:]
    assert "gradebook integrity: OK" in graded["result"].stderr


def test_every_attack_really_ran(graded):
    """Is each attack's marker in its autograded notebook, so the checks below cannot pass vacuously?"""
    for name in attacks_of(graded):
        assert f"{MARKER} {name}" in outputs(graded["autograded"][name]), name


def test_no_attack_scores_more_than_its_control(graded):
    """Does every attack score at most what the same answers score without the trick?"""
    for name in attacks_of(graded):
        mine, control = total(graded["scores"][name]), total(graded["scores"][ATTACKS[name]["control"]])
        assert mine <= control, f"{name} scored {mine}, its control {control}"


def test_no_attack_reads_the_instructors_source_or_the_gradebook(graded):
    """Does no solution or hidden-test line, and no gradebook byte, reach an attack's outputs?"""
    for name in attacks_of(graded):
        text = outputs(graded["autograded"][name])
        leaked = [line for line in graded["secrets"] if len(line) > 20 and line in text]
        assert not leaked, (name, leaked[:3])
        assert "SQLite format 3" not in text


def test_deleted_or_moved_instructor_cells_are_put_back(graded):
    """Are the fixtures an attack deleted or moved back in place, in the instructor's order, and reported?"""
    for name in attacks_of(graded):
        spec = ATTACKS[name]
        touched = spec.get("delete", []) + spec.get("move_to_end", [])
        if not touched:
            continue
        nb = graded["autograded"][name]
        order = [grade_id(c) for c in nb.cells if grade_id(c)]
        release = [grade_id(c) for c in read_nb(os.path.join(
            graded["root"], "release", spec["assignment"], graded["notebook"] + ".ipynb")).cells if grade_id(c)]
        assert order == release, name
        assert any("put back" in r for r in nb.metadata["grader"]["refusals"]), name


def test_a_change_to_the_tests_objects_is_a_failure_that_says_so(graded):
    """Does an answer that writes into the test's arrays fail with a message naming the change?"""
    for name in attacks_of(graded):
        if name in ("overwrite_targets", "update_in_place", "nan_grid"):
            assert "in place; a function must not modify what it is given" in outputs(graded["autograded"][name])
