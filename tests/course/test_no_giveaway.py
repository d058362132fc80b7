"""No graded answer is shown anywhere else in the course.

A line of a solution (between the solution markers of any source notebook)
must not appear in any cell a student sees, in any notebook of the release:
not in a demo, a worked example, an earlier notebook's preview, a markdown
cell. Trivial lines are not answers and are left out: short ones, `return` and
`def` lines, the headers of loops and branches, and loading a data set.
"""

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
MIN_CHARS = 24  # shorter lines (`dZ1.sum(axis=0)`, `return W, b`) say nothing an exercise asks for


def normalise(line):
    """The code of a line, without its comment and with single spaces (or '' for no code)."""
    code = re.sub(r"\s+#.*$", "", line.strip())
    if code.startswith("#"):
        return ""
    return re.sub(r"\s+", " ", code)


TRIVIAL = re.compile(r"^(return |def |for |while |if |elif |else|try|except|with )|= data\.")


def notebooks(folder="source"):
    return sorted(ROOT.glob(f"{folder}/*/*.ipynb"))


def solution_regions(nb):
    """Yield (cell index, [normalised non-trivial lines]) for each solution region."""
    for index, cell in enumerate(nb["cells"]):
        inside, lines = False, []
        for line in "".join(cell["source"]).splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and len(normalise(line)) >= MIN_CHARS and not TRIVIAL.search(normalise(line)):
                lines.append(normalise(line))
        if lines:
            yield index, lines


def test_no_line_of_a_solution_appears_elsewhere():
    """Does no non-trivial line of any solution stand in another cell of any notebook?"""
    shown = {}  # every line a student sees, and where
    for path in notebooks("release"):
        for cell in json.loads(path.read_text())["cells"]:
            label = cell["metadata"].get("nbgrader", {}).get("grade_id", "?")
            for line in "".join(cell["source"]).splitlines():
                if normalise(line):
                    shown.setdefault(normalise(line), []).append(f"{path.parent.name}:{label}")
    found = []
    for path in notebooks():
        for index, lines in solution_regions(json.loads(path.read_text())):
            for line in lines:
                if line in shown:
                    found.append(f"{path.parent.name} cell {index}: {line!r} is shown in {shown[line][:3]}")
    assert not found, "\n".join(found)
