"""The gradebook's schema stamp: read in process, the same revision nbgrader's own subprocess reads."""

import os
import sqlite3
import subprocess
import sys

from grader import gradebook


def test_the_in_process_head_is_the_one_nbgrader_reads_with_alembic():
    """Does alembic_head() name the revision `alembic heads` (nbgrader's own way) names?"""
    theirs = subprocess.run([sys.executable, "-c", "from nbgrader.api import get_alembic_version as v; print(v())"],
                            env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]),
                            capture_output=True, text=True, check=True).stdout.strip()
    assert gradebook.alembic_head() == theirs


def test_a_new_gradebook_is_stamped_without_an_alembic_command(tmp_path):
    """With the course's config loaded, does nbgrader create a gradebook with no `alembic` on PATH?"""
    path = tmp_path / "gradebook.db"
    script = ("from grader.course import load_config; load_config()\n"
              f"from nbgrader.api import Gradebook\nGradebook('sqlite:///{path}').close()\n")
    run = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PATH="/nonexistent"),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(gradebook.alembic_head(),)]
