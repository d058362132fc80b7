"""The release: regeneration, staleness, the generated header, leaks and validation."""

import copy
import filecmp
import os

import nbformat
import pytest

from grader.check_release import check_release
from grader.course import assignments
from grader.release import stale_files
from grader.validate_course import validate_course
from tests.grading.course_copy import (
    COURSE_ROOT,
    TOY_SOURCE,
    grade_id,
    make_scratch_course,
    nbgrader_ok,
    read_nb,
)

TOY, NOTEBOOK = "00_toy", "toy"
REAL_COURSE = pytest.mark.skipif(
    not assignments(COURSE_ROOT), reason="the course has no assignments under source/ yet"
)


pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def toy_course(tmp_path_factory):
    """Return a scratch course with the toy assignment released."""
    root = make_scratch_course(tmp_path_factory.mktemp("release"), TOY_SOURCE)
    nbgrader_ok(root, "generate_assignment", "*", "--force")
    return root


@pytest.fixture
def planted(toy_course, tmp_path):
    """Return (root, release notebook, its path) for a private copy of the toy course."""
    root = make_scratch_course(tmp_path / "course", TOY_SOURCE)
    os.makedirs(os.path.join(root, "release"))
    src = os.path.join(toy_course, "release", TOY)
    dest = os.path.join(root, "release", TOY)
    os.makedirs(dest)
    path = os.path.join(dest, NOTEBOOK + ".ipynb")
    with open(os.path.join(src, NOTEBOOK + ".ipynb")) as fh, open(path, "w") as out:
        out.write(fh.read())
    return root, read_nb(path), path


def cell(nb, gid):
    """Return the cell of `nb` with grade_id `gid`."""
    return next(c for c in nb.cells if grade_id(c) == gid)


def test_generate_assignment_is_byte_deterministic(toy_course, tmp_path):
    """Does generating the release twice, in different folders, give identical bytes?"""
    other = make_scratch_course(tmp_path / "again", TOY_SOURCE)
    nbgrader_ok(other, "generate_assignment", "*", "--force")
    first = os.path.join(toy_course, "release", TOY, NOTEBOOK + ".ipynb")
    assert filecmp.cmp(
        first, os.path.join(other, "release", TOY, NOTEBOOK + ".ipynb"), shallow=False
    )


def test_release_carries_the_generated_header(toy_course):
    """Does every released notebook start with the header that tells students how to work in it?"""
    nb = read_nb(os.path.join(toy_course, "release", TOY, NOTEBOOK + ".ipynb"))
    assert nb.cells[0].source.startswith("> **How this notebook works.**")


def test_staleness_check_passes_on_a_fresh_release(toy_course):
    """Does the staleness check accept a release just generated?"""
    assert stale_files(toy_course) == []


def test_staleness_check_catches_an_edited_source(planted):
    """Does the staleness check fail after the source changes but the release does not?"""
    root, _, _ = planted
    path = os.path.join(root, "source", TOY, NOTEBOOK + ".ipynb")
    nb = read_nb(path)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, path)
    assert stale_files(root) == [f"stale: release/{TOY}/{NOTEBOOK}.ipynb"]


def test_release_check_passes_on_a_clean_release(toy_course):
    """Does the release check pass on what nbgrader generated?"""
    assert check_release(toy_course) == []


def plant(planted, change):
    """Apply `change` to the planted release notebook, save it and return the check's problems."""
    root, nb, path = planted
    change(nb)
    nbformat.write(nb, path)
    return check_release(root)


def test_release_check_catches_a_solution(planted):
    """Does the release check fail when a solution is left in the release?"""
    problems = plant(
        planted,
        lambda nb: setattr(
            cell(nb, "sigmoid"), "source", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))"
        ),
    )
    assert any("return 1 / (1 + np.exp(-z))" in p for p in problems), problems


def test_release_check_catches_hidden_tests(planted):
    """Does the release check fail when hidden tests are left in a test cell?"""
    leak = (
        "\nassert predict(np.array([1.0, 1.0]), -2.5, X).tolist() == [1, 0], "
        '"predict should use the bias b"'
    )
    problems = plant(
        planted,
        lambda nb: setattr(
            cell(nb, "test_predict"), "source", cell(nb, "test_predict").source + leak
        ),
    )
    assert any("test_predict" in p and "solution/hidden-test line" in p for p in problems), problems


def test_release_check_catches_markers(planted):
    """Does the release check fail on a leftover nbgrader marker?"""
    problems = plant(
        planted,
        lambda nb: setattr(
            cell(nb, "train"), "source", cell(nb, "train").source + "\n### BEGIN SOLUTION"
        ),
    )
    assert any("marker 'BEGIN SOLUTION'" in p for p in problems), problems


def test_release_check_catches_outputs(planted):
    """Does the release check fail when a cell keeps its outputs?"""

    def add_output(nb):
        setup = cell(nb, "setup")
        setup.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
        setup.execution_count = 1

    problems = plant(planted, add_output)
    assert any("'setup'" in p or "(setup)" in p for p in problems), problems
    assert any("has outputs" in p for p in problems), problems


def test_release_check_catches_a_changed_graded_cell(planted):
    """Does the release check fail when a graded cell differs from the source?"""

    def weaken(nb):
        test = cell(nb, "test_sigmoid")
        test.source = "assert True"
        test.metadata.nbgrader["points"] = 20

    problems = plant(planted, weaken)
    assert f"{TOY}/{NOTEBOOK}.ipynb: graded cell 'test_sigmoid' differs from the source" in problems
    assert any("'test_sigmoid' has points=20" in p for p in problems), problems
    assert any("'test_sigmoid' was edited after generation" in p for p in problems), problems


def test_release_check_catches_a_test_reading_values_of_student_code(planted):
    """Does the release check flag a test that reads what a locked cell computed from student code?"""
    root = planted[0]
    path = os.path.join(root, "source", TOY, NOTEBOOK + ".ipynb")
    nb = read_nb(path)
    test = cell(nb, "test_sigmoid")
    demo = nbformat.v4.new_code_cell("demo = sigmoid(np.zeros(3))")
    demo.metadata["nbgrader"] = {"grade": False, "grade_id": "demo", "locked": True,
                                 "schema_version": 3, "solution": False, "task": False}
    nb.cells.insert(nb.cells.index(test), demo)
    test.source = "assert np.allclose(demo, 0.5)\n" + test.source
    nbformat.write(nb, path)
    problems = check_release(root)
    assert any("test 'test_sigmoid' reads demo, computed by locked cells" in p
               for p in problems), problems


def test_release_check_catches_a_missing_header(planted):
    """Does the release check fail when the students' header is gone?"""
    problems = plant(planted, lambda nb: nb.cells.pop(0))
    assert any("expected the students' header" in p for p in problems), problems


def test_validation_passes_source_and_fails_release(toy_course):
    """Do source notebooks pass their tests and releases fail them, per nbgrader's Validator?"""
    assert validate_course(toy_course) == []


def test_validation_catches_a_release_that_passes_a_test(planted):
    """Does validation complain when a release notebook passes one of its tests?"""
    root, nb, path = planted
    source = read_nb(os.path.join(root, "source", TOY, NOTEBOOK + ".ipynb"))
    released = copy.deepcopy(nb)
    cell(released, "sigmoid").source = cell(source, "sigmoid").source
    nbformat.write(released, path)
    problems = validate_course(root)
    assert len(problems) == 1 and problems[0].startswith(
        f"release/{TOY}/{NOTEBOOK}.ipynb should fail every test"
    )


def test_validation_catches_a_failing_source(planted):
    """Does validation complain when the source solution fails its own tests?"""
    root, _, _ = planted
    path = os.path.join(root, "source", TOY, NOTEBOOK + ".ipynb")
    source = read_nb(path)
    cell(
        source, "sigmoid"
    ).source = "def sigmoid(z):\n    ### BEGIN SOLUTION\n    return z\n    ### END SOLUTION"
    nbformat.write(source, path)
    problems = validate_course(root)
    assert any(
        p.startswith(f"source/{TOY}/{NOTEBOOK}.ipynb should pass its tests") for p in problems
    ), problems


@REAL_COURSE
def test_course_release_is_up_to_date():
    """Is the committed release/ what nbgrader generates from source/ now?"""
    assert stale_files(COURSE_ROOT) == []


@REAL_COURSE
def test_course_release_leaks_nothing():
    """Does the committed release/ pass the release check?"""
    assert check_release(COURSE_ROOT) == []


# The course's own notebooks are not validated again here: the round trip grades every
# source notebook to full marks and every untouched release to zero with the real
# nbgrader (tests/grading/test_roundtrip.py), and nbval runs every source notebook.
