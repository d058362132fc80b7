"""Benchmark: autograde time per notebook against bare kernel execution.

    python tests/bench_autograde.py [--toy] [--repeat N] [ASSIGNMENT ...]

For each assignment, in a scratch copy of the course, the reference solution
is submitted and graded with the real command, timed from outside:

* single: one student, `nbgrader autograde A --student bench --force`,
  divided by the number of notebooks (what `grader.autograde_class` pays
  per student, as it runs one command per student);
* class: --class-size students in one `nbgrader autograde A --force`,
  divided by students x notebooks (nbgrader's start-up is paid once).

The same notebooks are executed bare with nbclient (kernel start plus all
cells). The report gives the times and ratios; the target is at most 1.5x.

confined vs unconfined: the single-student autograde is also timed with the
protection switched off (`--SandboxKernelManager.confine=False
--ResilientExecute.trusted_verdicts=False`); the target for that ratio is 1.2x.
`nbgrader --version` is timed too: start-up is a fixed cost per command.
Not a test: it only reports.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nbformat  # noqa: E402
from conftest_grading import TOY_SOURCE, make_scratch_course, nbgrader_ok  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from grader.course import assignments, load_config, notebooks, run_nbgrader  # noqa: E402

TARGET = 1.5
CONFINED_TARGET = 1.2
UNCONFINED = ("--SandboxKernelManager.confine=False", "--ResilientExecute.trusted_verdicts=False")


def bare_seconds(path, timeout):
    """Return the seconds nbclient takes to start a kernel and run every cell of a notebook."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": os.path.dirname(path)}},
    ).execute()
    return time.perf_counter() - start


def autograde_seconds(root, *args):
    """Return the seconds `nbgrader autograde ARGS --force` takes."""
    start = time.perf_counter()
    nbgrader_ok(root, "autograde", *args, "--force")
    return time.perf_counter() - start


def submit_reference(root, assignment, students):
    """Submit the reference notebooks of `assignment` for each of `students`."""
    for student in students:
        submitted = os.path.join(root, "grader", "submitted", student, assignment)
        shutil.rmtree(submitted, ignore_errors=True)
        shutil.copytree(os.path.join(root, "source", assignment), submitted)


def bench(root, assignment, repeat, timeout, class_size):
    """Return medians of seconds per notebook: (single autograde, class autograde, bare)."""
    names = notebooks(os.path.join(root, "source", assignment))
    submit_reference(root, assignment, ["bench"])
    single = [
        autograde_seconds(root, assignment, "--student", "bench") / len(names)
        for _ in range(repeat)
    ]
    unconfined = [
        autograde_seconds(root, assignment, "--student", "bench", *UNCONFINED) / len(names)
        for _ in range(repeat)
    ]
    folder = os.path.join(root, "grader", "submitted", "bench", assignment)
    bare = [
        sum(bare_seconds(os.path.join(folder, n + ".ipynb"), timeout) for n in names) / len(names)
        for _ in range(repeat)
    ]
    shutil.rmtree(os.path.join(root, "grader", "submitted", "bench"))
    submit_reference(root, assignment, [f"class{i}" for i in range(class_size)])
    whole = autograde_seconds(root, assignment) / (class_size * len(names))
    shutil.rmtree(os.path.join(root, "grader", "submitted"))
    return statistics.median(single), whole, statistics.median(bare), statistics.median(unconfined)


def main(argv=None):
    """Print the benchmark table; exit 0 whatever the numbers are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to time (default: all)")
    parser.add_argument(
        "--toy", action="store_true", help="time the toy assignment instead of the course"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--class-size", type=int, default=4, help="students in the class run")
    args = parser.parse_args(argv)
    # the confined kernel always gets one BLAS thread (SandboxKernelManager.blas_threads);
    # give the bare and unconfined kernels the same, or the ratios compare thread counts
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        root = make_scratch_course(os.path.join(tmp, "course"), TOY_SOURCE if args.toy else None)
        names = args.assignments or assignments(root)
        nbgrader_ok(root, "generate_assignment", "*", "--force")
        timeout = load_config(root).Execute.timeout
        start = time.perf_counter()
        run_nbgrader(["--version"], root)
        startup = time.perf_counter() - start
        print(f"nbgrader start-up (nbgrader --version): {startup:.1f} s")
        print(
            f"{'assignment':<24} {'bare/nb':>8} {'single/nb':>10} {'ratio':>6} "
            f"{'class/nb':>9} {'ratio':>6} {'unconf/nb':>10} {'confined':>9}"
            f"   (targets: <= {TARGET}x bare, <= {CONFINED_TARGET}x unconfined)"
        )
        for assignment in names:
            single, whole, bare, loose = bench(
                root, assignment, args.repeat, timeout, args.class_size
            )
            print(
                f"{assignment:<24} {bare:>7.1f}s {single:>9.1f}s {single / bare:>5.2f}x "
                f"{whole:>8.1f}s {whole / bare:>5.2f}x {loose:>9.1f}s {single / loose:>8.2f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
