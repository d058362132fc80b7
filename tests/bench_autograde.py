"""Benchmark: autograde time per notebook against bare kernel execution.

    python -m tests.bench_autograde [--toy] [--repeat N] [--class-size C] [ASSIGNMENT ...]

For each assignment, in a scratch copy of the course, the reference solution
is submitted by C students and graded with the real commands, timed from
outside, side by side with the same notebook executed bare:

* bare: nbclient starts a kernel and runs every cell (no grading at all);
* per notebook: what `make autograde` (`python -m grader.autograde_class`)
  pays for each further notebook of a class: the seconds it reports per
  student, divided by the notebooks of the assignment. The target is at most
  1.5x bare;
* class of C: the whole class run timed from outside, divided by C x
  notebooks: the same plus its start-up (imports, done once per class, since
  every student's nbgrader process is forked from the runner) shared by C;
* plain nbgrader: `nbgrader autograde A` for the whole class in one command,
  divided likewise (run once, not N times);
* confined: the per-notebook cost against the same with the protection
  switched off (`--SandboxKernelManager.confine=False
  --ResilientExecute.trusted_verdicts=False`); the target is at most 1.2x.

Each figure is the median of N runs; the runs of one assignment alternate, so
that the machine's drift hits all of them alike. `nbgrader --version` is timed
too: the start-up of a separate nbgrader command. Not a test: it only reports.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

from grader.course import (
    assignments,
    load_config,
    nbgrader_env,
    notebooks,
    run_nbgrader,
)
from tests.grading.course_copy import TOY_SOURCE, make_scratch_course, nbgrader_ok

TARGET = 1.5
CONFINED_TARGET = 1.2
UNCONFINED = ("--SandboxKernelManager.confine=False", "--ResilientExecute.trusted_verdicts=False")
STUDENT_LINE = re.compile(r"^\[\d+/\d+\] \S+ \.\.\. graded [^(]*\(([\d.]+) s\)", re.M)


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


def class_run(root, assignment, students, *args):
    """Grade the class with the class runner; return (seconds in all, seconds per student)."""
    start = time.perf_counter()
    command = ["-m", "grader.autograde_class", assignment, "--force", "--root", root, "--workers", "1", *args]
    run = subprocess.run(
        [sys.executable, *command], cwd=root, env=nbgrader_env(), capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    per_student = [float(s) for s in STUDENT_LINE.findall(run.stdout)]
    if run.returncode != 0 or len(per_student) != students:
        raise RuntimeError(
            f"expected {students} graded students from grader.autograde_class {assignment}, got:\n"
            f"{run.stdout}\n{run.stderr[-2000:]}"
        )
    return seconds, statistics.median(per_student)


def plain_nbgrader_seconds(root, assignment):
    """Return the seconds one `nbgrader autograde ASSIGNMENT --force` takes for the class."""
    start = time.perf_counter()
    nbgrader_ok(root, "autograde", assignment, "--force")
    return time.perf_counter() - start


def bench(root, assignment, repeat, timeout, class_size):
    """Return medians of seconds per notebook, by name."""
    names = notebooks(os.path.join(root, "source", assignment))
    students = [f"student{i}" for i in range(class_size)]
    for student in students:
        submitted = os.path.join(root, "grader", "submitted", student, assignment)
        shutil.copytree(os.path.join(root, "source", assignment), submitted)
    folder = os.path.join(root, "grader", "submitted", students[0], assignment)
    runs = {"bare": [], "notebook": [], "class": [], "unconfined": [], "plain": []}
    per = len(names)
    for _ in range(repeat):
        runs["bare"].append(
            sum(bare_seconds(os.path.join(folder, n + ".ipynb"), timeout) for n in names) / per
        )
        whole, student = class_run(root, assignment, class_size)
        runs["class"].append(whole / (class_size * per))
        runs["notebook"].append(student / per)
        runs["unconfined"].append(class_run(root, assignment, class_size, *UNCONFINED)[1] / per)
    runs["plain"].append(plain_nbgrader_seconds(root, assignment) / (class_size * per))
    shutil.rmtree(os.path.join(root, "grader", "submitted"))
    return {key: statistics.median(values) for key, values in runs.items()}


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
        print(f"start-up of one nbgrader command (nbgrader --version): "
              f"{time.perf_counter() - start:.1f} s")
        print(f"median of {args.repeat} runs, class of {args.class_size}; seconds per notebook; "
              f"targets: per notebook <= {TARGET}x bare, confined <= {CONFINED_TARGET}x unconfined")
        whole_class = f"class of {args.class_size}"
        print(
            f"{'assignment':<24} {'bare':>6} {'per notebook':>15} {whole_class:>15}"
            f" {'plain nbgrader':>15} {'unconfined':>11} {'confined':>9}"
        )
        for assignment in names:
            t = bench(root, assignment, args.repeat, timeout, args.class_size)
            bare = t["bare"]
            print(
                f"{assignment:<24} {bare:>5.1f}s"
                f" {t['notebook']:>6.1f}s {t['notebook'] / bare:>6.2f}x"
                f" {t['class']:>6.1f}s {t['class'] / bare:>6.2f}x"
                f" {t['plain']:>6.1f}s {t['plain'] / bare:>6.2f}x"
                f" {t['unconfined']:>10.1f}s {t['notebook'] / t['unconfined']:>8.2f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
