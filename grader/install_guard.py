"""Install the wrong-folder guard as {sys.prefix}/etc/jupyter/nbgrader_config.py.

    python -m grader.install_guard [--prefix PREFIX]

nbgrader reads that file on every run, from any folder. The guard is
grader/jupyter_config/nbgrader_config.py; see its docstring. Reinstalling
updates it; a different nbgrader_config.py already there is left alone.
"""

import argparse
import os
import shutil
import sys

GUARD = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "jupyter_config", "nbgrader_config.py"
)
SIGNATURE = "Wrong-folder guard"


def install(prefix=sys.prefix):
    """Copy the guard into PREFIX/etc/jupyter and return the installed path."""
    target = os.path.join(prefix, "etc", "jupyter", "nbgrader_config.py")
    if os.path.exists(target):
        with open(target) as fh:
            if SIGNATURE not in fh.read():
                raise FileExistsError(
                    f"expected no nbgrader_config.py or this guard at {target}, "
                    "found another file; "
                    "merge the guard into it by hand"
                )
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy(GUARD, target)
    return target


def main(argv=None):
    """Install the guard and say where."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prefix", default=sys.prefix, help="environment prefix (default: this Python's)"
    )
    print(f"installed the nbgrader wrong-folder guard at {install(parser.parse_args(argv).prefix)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
