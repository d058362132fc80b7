"""Benchmark: a synthetic class graded one by one, on local Dask workers, and on a separate cluster.

    python -m tests.bench_parallel [--students 40] [--workers 2 3] [--groups 2] [ASSIGNMENT ...]

In a scratch copy of the course, every student submits every assignment: a
mix of the reference solution (40 %), a realistic wrong answer
(tests/grading/wrong_answers.py, 30 %), the blank release (20 %) and a broken
notebook (10 %, half a file). The class is then graded, side by side in one
run, three ways, each into a fresh gradebook, timed from outside:

* (a) sequential: `grader.autograde_class A B ... --workers 1`, one submission after another;
* (b) local workers: `grader.autograde_class A B ... --workers W` (a local Dask cluster, one
  queue for every assignment);
* (c) a cluster: a Dask scheduler and 2 workers started as separate processes,
  graded with `--scheduler`.

This machine's speed drifts by up to 20 % over half an hour, so the ways are
interleaved: the students are split into --groups groups, and each group is
graded by every way in turn, in the order a, b, c for one group and c, b, a
for the next. A drift steady over the run then adds as much to every way. A
way's time is the sum over the groups; each group's times are printed too.
(c)'s clock starts once its cluster is up, as an instructor's cluster would
already be running; (b)'s includes starting its local cluster.

It prints the seconds of each, the ratios a/b (target: at least 1.8 with 2
workers on 2 cores) and c/b (target: within 10 %), notebooks graded per minute
per core, and which worker count was fastest. First it measures what the
machine itself allows: the start-up of a grading process (a fresh Python
importing what a kernel and nbgrader import) alone, and two at once. Where
two at once take longer each, the cores share something (a cache, memory,
the host's paging), and 2 workers cannot be 2x faster than one: about 2 over
that ratio is the ceiling for a/b. Not a test: it only reports.
"""

import argparse
import copy
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from grader.course import assignments, nbgrader_env, notebooks
from grader.parallel import DASK_SETTINGS
from tests.grading.course_copy import (
    COURSE_ROOT,
    grade_id,
    make_scratch_course,
    nbgrader_ok,
    read_nb,
    write_nb,
)
from tests.grading.wrong_answers import WRONG_ANSWERS

KINDS = ["reference"] * 4 + ["wrong"] * 3 + ["blank"] * 2 + ["broken"]  # the class's mix, per 10 students


def build_class(root, names, students):
    """Submit, for every student and assignment, a submission of the student's kind; return the counts."""
    counts = {}
    for assignment in names:
        source = {n: read_nb(os.path.join(root, "source", assignment, n + ".ipynb"))
                  for n in notebooks(os.path.join(root, "source", assignment))}
        release = {n: read_nb(os.path.join(root, "release", assignment, n + ".ipynb")) for n in source}
        for s in range(students):
            kind = KINDS[(s + names.index(assignment)) % len(KINDS)]
            nbs = copy.deepcopy(release if kind == "blank" else source)
            if kind == "wrong" and assignment in WRONG_ANSWERS:
                entry = WRONG_ANSWERS[assignment]
                for cell in nbs[entry["notebook"]].cells:
                    if grade_id(cell) in entry["cells"]:
                        cell.source = entry["cells"][grade_id(cell)]
            folder = os.path.join(root, "grader", "submitted", f"s{s:03d}", assignment)
            for name, nb in nbs.items():
                write_nb(nb, folder, name)
            if kind == "broken":
                path = os.path.join(folder, next(iter(nbs)) + ".ipynb")
                with open(path) as fh:
                    text = fh.read()
                with open(path, "w") as fh:
                    fh.write(text[: len(text) // 2])
            counts[kind] = counts.get(kind, 0) + len(nbs)
    return counts


def fresh_gradebook(root, names):
    """Remove every grade and autograded file, keep the assignments (the same start for every way)."""
    for folder in ("autograded", "logs", "feedback"):
        shutil.rmtree(os.path.join(root, "grader", folder), ignore_errors=True)
    if os.path.exists(os.path.join(root, "grader", "gradebook.db")):
        os.remove(os.path.join(root, "grader", "gradebook.db"))
    nbgrader_ok(root, "generate_assignment", "*", "--force")


def grade_all(root, names, students, *args):
    """Grade these students' submissions of every assignment with one class runner command; return the seconds."""
    chosen = [arg for student in students for arg in ("--student", student)]
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader.autograde_class", *names, *chosen, "--force", *args],
                         cwd=root, env=nbgrader_env(), capture_output=True, text=True)
    if run.returncode not in (0, 1) or run.stdout.count("Summary for") != len(names):
        raise SystemExit(f"grading {' '.join(args)} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    return time.perf_counter() - start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(workers, folder):
    """A Dask scheduler and `workers` workers as separate processes on loopback; return (address, processes)."""
    port = free_port()
    env = dict(nbgrader_env(), DASK_CONFIG=DASK_SETTINGS)  # as README asks of a cluster
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for w in range(workers):
        own = os.path.join(folder, f"worker-{w}")
        os.makedirs(own, exist_ok=True)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
             "--nworkers", "1", "--local-directory", own], env=env,
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(f"tcp://127.0.0.1:{port}", timeout="60s") as client:
        client.wait_for_workers(workers, timeout=120)
    return f"tcp://127.0.0.1:{port}", procs


def stop(procs):
    for proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def grade_way(root, names, students, way, folder):
    """Grade these students one way ("a", "b<workers>" or "c") into a fresh gradebook; return the seconds."""
    fresh_gradebook(root, names)
    if way == "a":
        return grade_all(root, names, students, "--workers", "1")
    if way.startswith("b"):
        return grade_all(root, names, students, "--workers", way[1:])
    address, procs = start_cluster(2, folder)
    try:
        return grade_all(root, names, students, "--scheduler", address)
    finally:
        stop(procs)


STARTUP = "import numpy, matplotlib.pyplot, nbformat, jupyter_client, sqlalchemy, ipykernel.kernelapp"


def startups(at_once, count=6):
    """Run `count` grading start-ups in each of `at_once` processes side by side; return the seconds."""
    code = f"import subprocess, sys\nfor _ in range({count}): subprocess.run([sys.executable, '-c', {STARTUP!r}])"
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(at_once)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - start


def shared_cores(repeat=5):
    """How much longer two grading start-ups at once take than one alone (the median of `repeat` pairs)."""
    return sorted(startups(2) / startups(1) for _ in range(repeat))[repeat // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments (default: all)")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 3],
                        help="local worker counts to try for (b); the first is compared with (a) and (c)")
    parser.add_argument("--groups", type=int, default=2,
                        help="groups of students, each graded every way, in alternating order (default: 2)")
    args = parser.parse_args(argv)
    names = args.assignments or assignments(COURSE_ROOT)
    folder = tempfile.mkdtemp(prefix="bench-parallel-")
    try:
        root = make_scratch_course(os.path.join(folder, "course"))
        fresh_gradebook(root, names)
        counts = build_class(root, names, args.students)
        total = sum(counts.values())
        print(f"class: {args.students} students x {len(names)} assignments = {total} notebooks "
              f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); {os.cpu_count()} cores")
        slower = shared_cores()
        print(f"this machine: two grading start-ups at once take {slower:.2f}x as long as one alone, so a/b "
              f"can reach about {2 / slower:.2f}x here", flush=True)
        ways = ["a", *(f"b{w}" for w in args.workers), "c"]
        groups = [[f"s{s:03d}" for s in range(args.students) if s % args.groups == g] for g in range(args.groups)]
        seconds = dict.fromkeys(ways, 0.0)
        for g, group in enumerate(groups):
            order = ways if g % 2 == 0 else ways[::-1]
            took = {way: grade_way(root, names, group, way, folder) for way in order}
            print(f"group {g + 1} ({len(group)} students), in the order {', '.join(order)}: "
                  + ", ".join(f"{way} {took[way]:.1f} s" for way in ways), flush=True)
            for way in ways:
                seconds[way] += took[way]
        print()
        print(f"(a) one by one:                       {seconds['a']:7.1f} s")
        for w in args.workers:
            print(f"(b) {w} local workers:                 {seconds[f'b{w}']:7.1f} s")
        print(f"(c) scheduler + 2 worker processes:   {seconds['c']:7.1f} s")
        b = seconds[f"b{args.workers[0]}"]
        cores = os.cpu_count() or 1
        print(f"\na / b = {seconds['a'] / b:.2f}x  (target: at least 1.8x with 2 workers on 2 cores)")
        print(f"c / b = {seconds['c'] / b:.2f}x  (target: within 10 %, so 0.90x-1.10x)")
        for key, value in seconds.items():
            print(f"  {key}: {total / value * 60 / cores:.1f} notebooks per minute per core")
        best = min(args.workers, key=lambda w: seconds[f"b{w}"])
        print(f"best local worker count on {cores} cores: {best}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
