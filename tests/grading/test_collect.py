"""Collecting submissions: an LMS-style archive (zip_collect) and nbgrader's exchange."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from nbgrader.api import Gradebook

from grader.course import course_directory, nbgrader_env
from tests.grading.course_copy import TOY_SOURCE, gradebook_grades, make_scratch_course, nbgrader_ok

ASSIGNMENT, NOTEBOOK = "00_toy", "toy"


pytestmark = pytest.mark.grading


@pytest.fixture
def course(tmp_path):
    """Return a released scratch copy of the toy course with a due date."""
    root = make_scratch_course(tmp_path / "course", TOY_SOURCE)
    nbgrader_ok(root, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader_ok(root, "db", "assignment", "add", ASSIGNMENT, "--duedate=2030-01-01 12:00:00 UTC")
    return root


def test_zip_collect_imports_a_blackboard_archive(course):
    """Does `nbgrader zip_collect` file an LMS archive's notebooks per student, with timestamps?"""
    archive = os.path.join(course, "grader", "downloaded", ASSIGNMENT, "archive")
    os.makedirs(archive)
    source = os.path.join(course, "source", ASSIGNMENT, NOTEBOOK + ".ipynb")
    release = os.path.join(course, "release", ASSIGNMENT, NOTEBOOK + ".ipynb")
    with zipfile.ZipFile(os.path.join(archive, "gradebook_NN101_00_toy.zip"), "w") as zf:
        zf.write(
            source,
            f"gradebook_NN101_{ASSIGNMENT}_alice_attempt_2030-01-01-10-00-00_{NOTEBOOK}.ipynb",
        )
        zf.write(
            release,
            f"gradebook_NN101_{ASSIGNMENT}_bob42_attempt_2030-01-02-13-00-00_{NOTEBOOK}.ipynb",
        )
        zf.writestr("gradebook_NN101_00_toy_readme.txt", "not a submission")
    nbgrader_ok(course, "zip_collect", ASSIGNMENT)
    submitted = os.path.join(course, "grader", "submitted")
    assert sorted(os.listdir(submitted)) == ["alice", "bob42"]
    with open(os.path.join(submitted, "bob42", ASSIGNMENT, "timestamp.txt")) as fh:
        assert fh.read().strip() == "2030-01-02 13:00:00"
    nbgrader_ok(course, "autograde", ASSIGNMENT)
    assert gradebook_grades(course, ASSIGNMENT, "alice")[NOTEBOOK]["test_predict"][0] == 3
    coursedir = course_directory(course)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        assert gb.find_submission(ASSIGNMENT, "bob42").total_seconds_late == 25 * 3600
        assert gb.find_submission(ASSIGNMENT, "alice").total_seconds_late == 0


def test_exchange_round_trip_under_grader(course, tmp_path):
    """Do release_assignment, a student's fetch and submit, and collect work via grader/exchange?"""
    nbgrader_ok(course, "release_assignment", ASSIGNMENT)
    exchange = os.path.join(course, "grader", "exchange")
    assert os.path.isdir(os.path.join(exchange, "neural-networks", "outbound", ASSIGNMENT))
    home = tmp_path / "student"
    home.mkdir()
    for step in ("fetch_assignment", "submit"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "nbgrader",
                step,
                ASSIGNMENT,
                "--course=neural-networks",
                f"--Exchange.root={exchange}",
                "--Exchange.path_includes_course=False",
            ],
            cwd=home,
            env=nbgrader_env(),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
    nbgrader_ok(course, "collect", ASSIGNMENT)
    collected = os.listdir(os.path.join(course, "grader", "submitted"))
    assert len(collected) == 1
    assert os.path.isfile(
        os.path.join(course, "grader", "submitted", collected[0], ASSIGNMENT, NOTEBOOK + ".ipynb")
    )
    shutil.rmtree(exchange)
