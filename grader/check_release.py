"""Check that release/ leaks nothing and that its graded cells match source/.

    python -m grader.check_release [--root COURSE_ROOT]

Fails (exit 1) when a release notebook lacks the students' header, holds
a solution, hidden tests, a mark scheme or outputs, or has a graded or locked
cell that differs from what nbgrader makes of the source cell; or when a
source test reads a value that locked cells compute from student code, which
the autograder's trusted verdicts refuse (grader/verdicts.py).
"""

import argparse
import ast
import copy
import os
import sys

import nbformat
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions, LockCells

from grader import wire
from grader.course import ROOT, load_config, notebooks
from grader.verdicts import instructor_kind, untrusted_reads

MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
    "END MARK SCHEME",
)
MIN_LEAK_CHARS = 12  # shorter lines (`return w`, `pass`) are too common to call a leak
COMPARED_METADATA = ("grade", "grade_id", "locked", "points", "solution", "task")


def _regions(source, begin, end):
    """Return the lines inside begin/end marker regions of a cell source."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def secret_lines(source_nb, kinds=("SOLUTION", "HIDDEN TESTS", "MARK SCHEME")):
    """Return distinctive source lines found only inside the given kinds of marker region.

    Lines that also appear outside those regions, or are shorter than
    MIN_LEAK_CHARS (ignoring spaces), are left out: they are not evidence
    of a leak.
    """
    secret, public = set(), set()
    for cell in source_nb.cells:
        for begin, end in zip(MARKERS[::2], MARKERS[1::2]):
            lines = _regions(cell.source, begin, end)
            (secret if any(kind in begin for kind in kinds) else public).update(lines)
        public.update(line.strip() for line in _strip_regions(cell.source).splitlines())
    return {line for line in secret - public if len(line.replace(" ", "")) >= MIN_LEAK_CHARS}


def _strip_regions(source):
    """Return a cell source without any marker region."""
    kept, inside = [], False
    for line in source.splitlines():
        if any(m in line for m in MARKERS[::2]):
            inside = True
        elif any(m in line for m in MARKERS[1::2]):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def expected_release(source_nb, config):
    """Return the source notebook as nbgrader's release preprocessors leave it."""
    nb = copy.deepcopy(source_nb)
    resources = {}
    for preprocessor in (ClearSolutions, ClearHiddenTests, ClearMarkScheme, LockCells):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
    return nb


def _graded_cells(nb):
    """Return {grade_id: cell} for the graded, solution and locked cells of a notebook."""
    return {
        cell.metadata.nbgrader["grade_id"]: cell
        for cell in nb.cells
        if "grade_id" in cell.metadata.get("nbgrader", {})
    }


def guards(source):
    """Return the attributes a test cell sets on objects (`obj.attr = ...`, `setattr(obj, ...)`).

    A test that replaces a method of an object it hands to the student's code,
    to forbid a shortcut, grades on a guard the student's code can step
    around (`type(obj).method(obj)`): the worker does not send such changes to
    the kernel, and a grade must rest on results.
    """
    tree = wire.parse(source)
    found = []
    for node in ast.walk(tree) if tree is not None else []:
        targets = node.targets if isinstance(node, ast.Assign) else []
        found += [ast.unparse(t) for t in targets if isinstance(t, ast.Attribute)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            found.append(ast.unparse(node))
    return found


def check_notebook(release_nb, source_nb, header_nb, config, name):
    """Return a list of problems with one release notebook."""
    problems = [
        f"{name}: test '{test}' reads {', '.join(names)}, computed by locked cells from the "
        "student's code; the autograder does not take such values from the student's kernel, "
        "so call the student's functions in the test instead"
        for test, names in untrusted_reads(source_nb).items()
    ]
    for cell in source_nb.cells:
        if instructor_kind(cell) == "test" and guards(cell.source):
            problems.append(
                f"{name}: test '{cell.metadata.nbgrader['grade_id']}' sets "
                f"{', '.join(guards(cell.source))}: a guard the student's code can step around "
                "(type(obj).method(obj)); test what the student's functions return instead")
    if (
        not header_nb.cells
        or not release_nb.cells
        or release_nb.cells[0].source != header_nb.cells[0].source
    ):
        problems.append(f"{name}: expected the students' header (grader/release_header.ipynb) as the first cell")
    secret = secret_lines(source_nb)
    for index, cell in enumerate(release_nb.cells):
        label = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id", "?"))
        where = f"{name} cell {index} ({label})"
        marker = next((m for m in MARKERS if m in cell.source), None)
        if marker:
            problems.append(f"{where}: holds the marker '{marker}'")
        leaked = sorted(
            line for line in (text.strip() for text in cell.source.splitlines()) if line in secret
        )
        if leaked:
            problems.append(
                f"{where}: holds solution/hidden-test line(s) from source: {leaked[0]!r}"
            )
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            problems.append(f"{where}: has outputs or an execution count; releases must be cleared")
    expected, released = (
        _graded_cells(expected_release(source_nb, config)),
        _graded_cells(release_nb),
    )
    for grade_id in sorted(set(expected) - set(released)):
        problems.append(
            f"{name}: graded cell '{grade_id}' of the source is missing from the release"
        )
    for grade_id in sorted(set(released) - set(expected)):
        problems.append(f"{name}: graded cell '{grade_id}' is in the release but not in the source")
    for grade_id in sorted(set(expected) & set(released)):
        want, have = expected[grade_id], released[grade_id]
        if want.source != have.source or want.cell_type != have.cell_type:
            problems.append(f"{name}: graded cell '{grade_id}' differs from the source")
        for key in COMPARED_METADATA:
            if want.metadata.nbgrader.get(key) != have.metadata.nbgrader.get(key):
                problems.append(
                    f"{name}: graded cell '{grade_id}' has "
                    f"{key}={have.metadata.nbgrader.get(key)!r}, "
                    f"source has {want.metadata.nbgrader.get(key)!r}"
                )
        checksum = have.metadata.nbgrader.get("checksum")
        if checksum and checksum != nbgrader_utils.compute_checksum(have):
            problems.append(
                f"{name}: graded cell '{grade_id}' was edited after generation (checksum mismatch)"
            )
    return problems


def check_release(root=ROOT):
    """Return a list of problems with every notebook under release/."""
    config = load_config(root)
    header_nb = nbformat.read(config.IncludeHeaderFooter.header, as_version=4)
    release = os.path.join(root, "release")
    if not os.path.isdir(release):
        return [f"expected release notebooks under {release}, found no folder"]
    problems = []
    for assignment in sorted(os.listdir(release)):
        for notebook in notebooks(os.path.join(release, assignment)):
            name = f"{assignment}/{notebook}.ipynb"
            source_path = os.path.join(root, "source", name)
            if not os.path.isfile(source_path):
                problems.append(f"release/{name}: expected source/{name}, found none")
                continue
            problems += check_notebook(
                nbformat.read(os.path.join(release, name), as_version=4),
                nbformat.read(source_path, as_version=4),
                header_nb,
                config,
                name,
            )
    return problems


def main(argv=None):
    """Print the problems with release/ and exit 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=ROOT, help="course root (default: this repository)")
    problems = check_release(parser.parse_args(argv).root)
    for problem in problems:
        print(problem)
    print(
        f"release check failed: {len(problems)} problem(s)" if problems else "release check passed"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
