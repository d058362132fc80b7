"""Thin loader: nbgrader reads nbgrader_config.py from the course root.

nbgrader looks for its configuration in the folder it runs from, and the
repository root is the course root, so this file must exist here. The
course's configuration itself lives in grader/nbgrader_config.py.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
load_subconfig(os.path.join(HERE, "grader", "nbgrader_config.py"))  # noqa: F821
