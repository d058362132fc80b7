"""Find the course's folders and run nbgrader commands in it."""

import os
import subprocess
import sys

from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(root=ROOT):
    """Return the nbgrader configuration that `nbgrader` would load in `root`."""
    path = os.path.join(root, "nbgrader_config.py")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"expected an nbgrader course root with nbgrader_config.py, got {root}"
        )
    return PyFileConfigLoader("nbgrader_config.py", path=root).load_config()


def course_directory(root=ROOT):
    """Return nbgrader's CourseDirectory for the course in `root`."""
    return CourseDirectory(config=load_config(root))


def assignments(root=ROOT):
    """Return the names of the assignments under source/, in order."""
    source = os.path.join(root, "source")
    if not os.path.isdir(source):
        return []
    return sorted(name for name in os.listdir(source) if notebooks(os.path.join(source, name)))


def notebooks(folder):
    """Return the notebook names (without .ipynb) directly inside `folder`, in order."""
    if not os.path.isdir(folder):
        return []
    return sorted(f[: -len(".ipynb")] for f in os.listdir(folder) if f.endswith(".ipynb"))


def nbgrader_env():
    """Return the environment for an nbgrader subprocess (it runs `alembic` from PATH)."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_nbgrader(args, root=ROOT, **kwargs):
    """Run `nbgrader ARGS` in the course root and return the CompletedProcess."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=root, env=nbgrader_env(), **kwargs
    )
