"""The authored notebooks in source/ as they are committed: no outputs, one import style, points in sight."""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("source/*/*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_source_notebook_is_committed_without_outputs(path):
    """Does no code cell of the source notebook carry outputs or an execution count?"""
    carrying = [i for i, cell in enumerate(cells(path)) if cell["cell_type"] == "code"
                and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not carrying, f"{path.relative_to(ROOT)}: cells {carrying} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_exercise_headings_give_the_points_the_tests_carry(path):
    """Does every 'Exercise k (n points)' heading promise exactly the points of the tests up to the next exercise?"""
    heading = re.compile(r"^#+ (Exercise|Question) (\d+)\s*\((\d+) points?\)", re.M)
    promised, carried, current = {}, {}, None
    for cell in cells(path):
        source = "".join(cell["source"])
        meta = cell["metadata"].get("nbgrader", {})
        match = heading.search(source) if cell["cell_type"] == "markdown" else None
        if match:
            current = f"{match.group(1)} {match.group(2)}"
            promised[current] = int(match.group(3))
            carried.setdefault(current, 0)
        elif current and meta.get("grade"):
            carried[current] += meta.get("points", 0)
    assert promised, f"{path.parent.name}: no exercise heading with its points"
    assert carried == promised


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_utils_is_imported_one_way(path):
    """Does the notebook import utils modules by name (from utils import checks), never their insides?"""
    found = [line for cell in cells(path) for line in "".join(cell["source"]).splitlines()
             if re.match(r"\s*from utils\.\w+ import", line)]
    assert not found, f"{path.parent.name}: {found}"


# Names of files a student of another class does not have, and words about how they were extracted.
ELSEWHERE = re.compile(r"lecture 00\d|sheet 00\d|files? 00\d|lectures? \d{3}|garble|text extraction|as extracted",
                       re.I)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_notebook_stands_on_its_own(path):
    """Does no cell point to lecture files or sheets a student does not have, or to their extraction?"""
    found = [f"cell {i}: {m.group(0)!r}" for i, cell in enumerate(cells(path))
             for m in ELSEWHERE.finditer("".join(cell["source"]))]
    assert not found, f"{path.parent.name}: " + "; ".join(found[:10])
