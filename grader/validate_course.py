"""Check with nbgrader's Validator that source notebooks pass and releases fail.

    python -m grader.validate_course [--root COURSE_ROOT] [ASSIGNMENT ...]

`nbgrader validate` prints its verdict and exits 0 whatever it finds, so
this runs nbgrader's own Validator class (the same code, with the course
configuration) and turns its results into an exit status: every graded
test must pass on source/<a>/<nb>.ipynb and fail on release/<a>/<nb>.ipynb.
"""

import argparse
import os
import sys

from nbgrader.validator import Validator

from grader.course import ROOT, assignments, load_config, notebooks


def validate(path, config, invert=False):
    """Return nbgrader's validation results for one notebook ({} means it validated)."""
    validator = Validator(config=config, invert=invert)
    return validator.validate(path)


def _describe(results):
    """Return a one-line account of a Validator result."""
    parts = []
    for key, cells in results.items():
        first = cells[0]
        detail = first.get("raw_error", "").strip().splitlines()[-1:] or [
            first.get("source", "")[:60]
        ]
        parts.append(f"{len(cells)} cell(s) {key}, e.g. {detail[0]!r}")
    return "; ".join(parts)


def validate_course(root=ROOT, selected=None):
    """Return a list of problems: source notebooks that fail, release notebooks that pass."""
    config = load_config(root)
    problems = []
    for assignment in selected or assignments(root):
        source = os.path.join(root, "source", assignment)
        for notebook in notebooks(source):
            results = validate(os.path.join(source, notebook + ".ipynb"), config)
            if results:
                problems.append(
                    f"source/{assignment}/{notebook}.ipynb should pass its tests: "
                    + _describe(results)
                )
            released = os.path.join(root, "release", assignment, notebook + ".ipynb")
            if not os.path.isfile(released):
                problems.append(f"expected release/{assignment}/{notebook}.ipynb, found none")
                continue
            results = validate(released, config, invert=True)
            if results:
                problems.append(
                    f"release/{assignment}/{notebook}.ipynb should fail every test: "
                    + _describe(results)
                )
    return problems


def main(argv=None):
    """Validate the course's notebooks and exit 1 on any problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to validate (default: all)")
    parser.add_argument("--root", default=ROOT, help="course root (default: this repository)")
    args = parser.parse_args(argv)
    problems = validate_course(args.root, args.assignments)
    for problem in problems:
        print(problem)
    print(f"validation failed: {len(problems)} problem(s)" if problems else "validation passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
