"""Do the hidden tests of notebook 4 catch typical wrong gradients, and name the mistake?

Each file in ``tests/course/mistakes/`` is a solution cell with one deliberate mistake
(its header names the kind, the cell it replaces and the test cells that must
catch it). Here the SOURCE notebook's code cells are run with plain ``exec`` in
one namespace, the wrong cell in place of the solution. Every test cell is run
in two parts, visible and hidden, so that we can check that the *hidden* part
alone fails with an AssertionError naming the kind, as
:func:`utils.checks.assert_matches` words it.
"""
import pathlib
import re

import matplotlib
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "source" / "04_backprop" / "backprop.ipynb"
MISTAKES = sorted((ROOT / "tests" / "course" / "mistakes").glob("*.py"))
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS\n?", re.S)


def _cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            meta = cell.metadata["nbgrader"]
            out.append((meta["grade_id"], cell.source, meta.get("grade", False)))
    return out


CELLS = _cells()
ORDER = [gid for gid, _, _ in CELLS]


def _run(source, ns):
    try:
        exec(compile(source, "<cell>", "exec"), ns)
    except Exception as exc:  # recorded for the assertions below
        return exc
    return None


def run_notebook(replace=None, until=None):
    """Run the code cells in order, up to ``until``.

    Returns ``(cells, tests)``: ``{grade_id: error or None}`` for the other cells
    and ``{grade_id: (visible error, hidden error)}`` for the test cells.
    """
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    replace = replace or {}
    ns = {"__name__": "__main__"}
    cells, tests = {}, {}
    show = plt.show
    plt.show = lambda *a, **k: plt.close("all")  # figures are built but never rendered
    try:
        for gid, source, graded in CELLS:
            source = replace.get(gid, source)
            if graded:
                match = HIDDEN.search(source)
                visible = HIDDEN.sub("", source)
                hidden = match.group(1) if match else ""
                tests[gid] = (_run(visible, ns), _run(hidden, ns))
            else:
                cells[gid] = _run(source, ns)
            if gid == until:
                break
    finally:
        plt.show = show
        plt.close("all")
    return cells, tests


def _header(path):
    text = path.read_text()
    fields = dict(re.findall(r"^# ([a-z ]+): (.+)$", text, re.M))

    def names(key):
        return [s.strip() for s in fields.get(key, "").split(",") if s.strip()]

    return fields["mistake"], fields["replaces"], names("caught by"), names("passes visible"), text


def test_mistakes_exist_for_every_kind_the_issue_names():
    """Is there at least one wrong implementation per mistake kind the course promises to name?"""
    kinds = {_header(p)[0] for p in MISTAKES}
    promised = {"hard-coded", "transposed", "forgot to divide by N", "summed over the wrong axis"}
    assert promised <= kinds


def test_correct_solution_passes_every_test_cell():
    """Does the source notebook, run cell by cell, pass every visible and hidden test?"""
    cells, tests = run_notebook()
    failed = {gid: repr(err) for gid, err in cells.items() if err is not None}
    assert not failed, f"cells raised: {failed}"
    for gid, (visible, hidden) in tests.items():
        assert visible is None, f"{gid} (visible) failed: {visible!r}"
        assert hidden is None, f"{gid} (hidden) failed: {hidden!r}"
    assert len(tests) >= 5


@pytest.mark.parametrize("path", MISTAKES, ids=[p.stem for p in MISTAKES])
def test_hidden_tests_name_the_mistake(path):
    """Does each wrong implementation fail the hidden tests with a message naming its mistake?"""
    kind, replaces, caught_by, passes_visible, source = _header(path)
    assert replaces in ORDER, f"{path.name}: no solution cell {replaces!r} in the notebook"
    assert caught_by, f"{path.name}: the header lists no test cell that catches it"
    last = max(caught_by + passes_visible, key=ORDER.index)
    _, tests = run_notebook(replace={replaces: source}, until=last)
    for gid in caught_by:
        hidden = tests[gid][1]
        assert isinstance(hidden, AssertionError), \
            f"{path.name}: the hidden part of {gid} should fail, got {hidden!r}"
        assert f": {kind} (" in str(hidden), \
            f"{path.name}: the hidden part of {gid} should name '{kind}', said: {hidden}"
    for gid in passes_visible:
        assert tests[gid][0] is None, \
            f"{path.name}: a hard-coded answer passes the visible part of {gid}: {tests[gid][0]!r}"
