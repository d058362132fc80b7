"""Trusted verdicts never favour a submission: honest code scores no higher with them on than off.

For each assignment, two realistic wrong submissions (tests/grading/wrong_answers.py:
the round trip's single mistake, and a set of mistakes that warn, overflow or
change their arguments in place) are graded twice, side by side, with the
real `nbgrader autograde`: once with the test cells run in the student's
kernel, as stock nbgrader does, and once with trusted verdicts. No test cell
may score higher the second time.
"""

import copy
import os

import pytest

from tests.grading.course_copy import (
    TOY_SOURCE,
    autograde_both_ways,
    course_cases,
    grade_id,
    gradebook_grades,
    make_scratch_course,
    nbgrader_ok,
    read_nb,
    write_nb,
)
from tests.grading.wrong_answers import WRONG_ANSWERS, WRONG_VARIANTS

pytestmark = pytest.mark.grading


@pytest.fixture(scope="module", params=course_cases(), ids=lambda case: f"{case[0]}-{case[1]}")
def both_ways(request, tmp_path_factory):
    """Grade the realistic wrong submissions of one assignment with verdicts off, then on."""
    kind, assignment = request.param
    if assignment not in WRONG_VARIANTS:
        pytest.fail(f"expected realistic wrong answers for {assignment} in tests/grading/wrong_answers.py")
    root = make_scratch_course(tmp_path_factory.mktemp(f"both-{assignment}"),
                               TOY_SOURCE if kind == "toy" else None)
    nbgrader_ok(root, "generate_assignment", assignment, "--force")
    students = {}
    for student, entry in [("one_mistake", WRONG_ANSWERS[assignment]), ("many_mistakes", WRONG_VARIANTS[assignment])]:
        name = entry["notebook"]
        nb = copy.deepcopy(read_nb(os.path.join(root, "source", assignment, name + ".ipynb")))
        for cell in nb.cells:
            if grade_id(cell) in entry["cells"]:
                cell.source = entry["cells"][grade_id(cell)]
        write_nb(nb, os.path.join(root, "grader", "submitted", student, assignment), name)
        students[student] = name
    roots = autograde_both_ways(root, assignment)
    scores = {verdicts: {s: gradebook_grades(where, assignment, s)[n] for s, n in students.items()}
              for verdicts, where in roots.items()}
    return scores


@pytest.mark.parametrize("student", ["one_mistake", "many_mistakes"])
def test_honest_code_never_scores_higher_with_verdicts_on(both_ways, student):
    """Does every test cell score at most as much with trusted verdicts as in the student's kernel?"""
    off, on = both_ways[False][student], both_ways[True][student]
    higher = {g: (off[g][0], on[g][0]) for g in on if (on[g][0] or 0) > (off[g][0] or 0)}
    assert not higher, f"scored higher with verdicts on (off, on): {higher}"
    assert sum(v[0] or 0 for v in off.values()) < sum(v[1] for v in off.values()), "the mistakes cost nothing"
