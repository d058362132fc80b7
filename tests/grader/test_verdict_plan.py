"""Planning trusted verdicts: what the worker computes itself, and what a test may take from the kernel."""

import nbformat
import pytest

from grader.verdicts import Bindings, Plan, python_source, untrusted_reads

CELLS = [
    ("setup", "locked", "import numpy as np\nfrom utils import checks\nrng = np.random.default_rng(0)\n"),
    ("data", "locked", "X = np.ones((3, 2))\ny = np.array([0, 1, 1])\n"),
    ("fixtures", "locked", "def reference(X):\n    return X.sum(axis=1)\n"),
    ("answer", "answer", "def f(X):\n    raise NotImplementedError()\n"),
    ("trained", "locked", "w = f(X)\n"),
    ("test_f", "test", "mine = f(X)\nchecks.assert_matches(mine, reference(X), 'f')\n"
                       "### BEGIN HIDDEN TESTS\nsecret_local = np.zeros(3)\nassert f(secret_local) is not None\n"
                       "### END HIDDEN TESTS\n"),
    ("test_w", "test", "assert w is not None\n"),
]


def test_self_contained_instructor_cells_run_in_the_worker():
    """Are data and reference cells planned for the worker, and a cell calling student code not?"""
    plan = Plan(CELLS)
    assert set(plan.pure) == {"setup", "data", "fixtures"}
    assert set(plan.impure) == {"trained"}
    assert plan.needed == {"setup", "data", "fixtures"}  # setup binds np, which the tests read
    assert "import numpy as np" in plan.setup_code()


def test_a_test_takes_from_the_kernel_only_names_a_student_cell_bound():
    """Does a test fetch f (the student's) but never its own locals, the data or the reference?"""
    bindings = Bindings(Plan(CELLS))
    for grade_id, kind, source in CELLS[:5]:
        bindings.ran(grade_id, kind, source if kind != "answer" else "def f(X):\n    return X\n")
    fetch, deny, _ = bindings.test(CELLS[5][2])
    assert fetch == ["f"] and deny == []
    assert "secret_local" not in fetch and "X" not in fetch and "reference" not in fetch
    fetch, deny, _ = bindings.test(CELLS[6][2])
    assert deny == ["w"] and fetch == []


def test_a_student_cell_cannot_take_over_the_instructors_names():
    """Does rebinding the reference, the data or numpy in a student's cell leave them the worker's?"""
    bindings = Bindings(Plan(CELLS))
    for grade_id, kind, source in CELLS[:4]:
        bindings.ran(grade_id, kind, source)
    bindings.ran(None, "answer", "X = 0\nreference = lambda X: 0\nnp = None\ndef f(X):\n    return 0\n")
    fetch, _, forget = bindings.test(CELLS[5][2])
    assert fetch == ["f"]
    assert "reference" not in forget and "X" not in forget


def test_a_name_a_test_bound_comes_from_the_kernel_once_a_student_cell_rebinds_it():
    """Is a test's own name used by later tests, until a student's cell binds the same name?"""
    plan = Plan([("t1", "test", "shared = 1\n"), ("t2", "test", "assert shared\n")])
    bindings = Bindings(plan)
    bindings.test("shared = 1\n")
    assert bindings.test("assert shared\n")[0] == []
    bindings.ran(None, "answer", "shared = 2\n")
    fetch, _, forget = bindings.test("assert shared\n")
    assert fetch == ["shared"] and forget == ["shared"]


def test_magics_and_hostile_cells_bind_nothing_they_do_not():
    """Do IPython magics translate, and do deep or broken cells bind nothing, without failing?"""
    bindings = Bindings(Plan(CELLS))
    for source in ["%timeit g = 1", "!ls", "(" * 3000 + ")" * 3000, "def (:", "x" * 3_000_000]:
        bindings.ran(None, "answer", source)
    assert "g" not in bindings.binder
    assert "get_ipython" in python_source("%timeit g = 1")


def test_untrusted_reads_names_tests_that_read_what_student_code_computed():
    """Does the release check's untrusted_reads flag a test that reads a locked cell's result of student code?"""
    nb = nbformat.v4.new_notebook()
    for grade_id, kind, source in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": kind != "answer",
                                     "grade": kind == "test", "solution": kind == "answer"}
        nb.cells.append(cell)
    assert untrusted_reads(nb) == {"test_w": ["w"]}


@pytest.mark.parametrize("source", ["x = (", "%%bash\necho hi"])
def test_python_source_never_fails(source):
    """Does python_source turn any cell into text, never raising?"""
    assert isinstance(python_source(source), str)
