"""The wrong-folder guard and the course layout nbgrader sees.

The guard is grader/jupyter_config/nbgrader_config.py, installed as
{sys.prefix}/etc/jupyter/nbgrader_config.py; here JUPYTER_CONFIG_PATH points
nbgrader at it, which nbgrader treats the same way.
"""

import os
import subprocess
import sys

import pytest

from grader.course import course_directory, nbgrader_env
from tests.grading.course_copy import REPO, TOY_SOURCE, make_scratch_course, nbgrader_ok

pytestmark = pytest.mark.grading

GUARD_DIR = os.path.join(REPO, "grader", "jupyter_config")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Return a released scratch copy of the toy course."""
    root = make_scratch_course(tmp_path_factory.mktemp("guard"), TOY_SOURCE)
    nbgrader_ok(root, "generate_assignment", "*", "--force")
    return root


def nbgrader_in(cwd, *args):
    """Run nbgrader from `cwd` with the guard installed."""
    env = dict(nbgrader_env(), JUPYTER_CONFIG_PATH=GUARD_DIR)
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_generated_files_live_under_grader(course):
    """Do submissions, autograded notebooks, feedback and the gradebook live under grader/?"""
    coursedir = course_directory(course)
    grader = os.path.join(course, "grader")
    for step in ("submitted", "autograded", "feedback"):
        path = coursedir.format_path(getattr(coursedir, f"{step}_directory"), "alice", "00_toy")
        assert path.startswith(os.path.join(grader, step) + os.sep)
    assert coursedir.db_url == "sqlite:///" + os.path.join(grader, "gradebook.db")
    assert os.path.isfile(os.path.join(grader, "gradebook.db"))
    assert coursedir.format_path(coursedir.release_directory, ".", "00_toy") == os.path.join(
        course, "release", ".", "00_toy"
    )


def test_gitignore_covers_everything_grading_produces():
    """Does grader/.gitignore list every folder and file that grading writes?"""
    with open(os.path.join(REPO, "grader", ".gitignore")) as fh:
        ignored = fh.read().split()
    for name in (
        "/submitted/",
        "/autograded/",
        "/feedback/",
        "/exchange/",
        "/gradebook.db",
        "/grades.csv",
    ):
        assert name in ignored


def test_instructor_command_in_a_subfolder_stops_and_names_the_root(course):
    """Does `nbgrader export` from source/ stop, name the course root and create no gradebook?"""
    result = nbgrader_in(os.path.join(course, "source"), "export")
    assert result.returncode == 2
    assert f"cd {course}" in result.stderr
    assert not os.path.exists(os.path.join(course, "source", "gradebook.db"))


def test_instructor_command_outside_any_course_stops(tmp_path):
    """Does `nbgrader db student list` outside any course stop without creating a gradebook?"""
    result = nbgrader_in(tmp_path, "db", "student", "list")
    assert result.returncode == 2 and "is not a course root" in result.stderr
    assert os.listdir(tmp_path) == []


def test_instructor_command_from_the_root_runs(course):
    """Does the guard let `nbgrader db assignment list` run from the course root?"""
    result = nbgrader_in(course, "db", "assignment", "list")
    assert result.returncode == 0 and "00_toy" in result.stdout + result.stderr


def test_explicit_course_dir_is_allowed(course):
    """Does --course-dir from another folder pass the guard and use the right gradebook?"""
    result = nbgrader_in(
        os.path.join(course, "source"), "db", "assignment", "list", f"--course-dir={course}"
    )
    assert result.returncode == 0 and "00_toy" in result.stdout + result.stderr
    assert not os.path.exists(os.path.join(course, "source", "gradebook.db"))


def test_student_commands_are_never_stopped(course, tmp_path):
    """Does the guard leave `nbgrader validate`, a student command, alone outside the course?"""
    released = os.path.join(course, "release", "00_toy", "toy.ipynb")
    result = nbgrader_in(tmp_path, "validate", released)
    assert result.returncode == 0 and "is not a course root" not in result.stderr


def test_install_guard_copies_into_the_prefix_and_refuses_foreign_files(tmp_path):
    """Does install_guard put the guard in PREFIX/etc/jupyter, and leave another config alone?"""
    from grader.install_guard import install

    target = install(str(tmp_path))
    assert target == os.path.join(str(tmp_path), "etc", "jupyter", "nbgrader_config.py")
    assert install(str(tmp_path)) == target  # reinstalling is fine
    with open(target, "w") as fh:
        fh.write("c.Exchange.root = '/srv/exchange'\n")
    with pytest.raises(FileExistsError, match="found another file"):
        install(str(tmp_path))
