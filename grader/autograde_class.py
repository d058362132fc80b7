"""Autograde a whole class with nbgrader, showing progress and a summary.

    python -m grader.autograde_class ASSIGNMENT [ASSIGNMENT ...] [--student ID ...] [--force]
        [--workers N | --scheduler ADDRESS] [--student-cap SECONDS]
        [nbgrader options, e.g. --Execute.timeout=300]

Runs `nbgrader autograde ASSIGNMENT --student ID` once per submission under
grader/submitted/*/ASSIGNMENT, each in its own process with a wall-clock cap
(--student-cap, default an hour), so one broken submission never stops the
class. With --workers 1 the submissions are graded here, one after another;
otherwise on Dask workers (grader/parallel.py: a local cluster of N workers,
by default one per core, or the cluster at --scheduler), every assignment
named sharing one queue. Each process is forked from one that has nbgrader
imported already: nbgrader's start-up (about 1.5 s, mostly imports) is paid
once per class (or per worker) instead of once per student. The child runs
nbgrader's own application with the same arguments and configuration as the
`nbgrader` command. Logs go to grader/logs/ASSIGNMENT/ID.log. The summary of
each assignment lists who was graded, who failed (and why), whose notebooks
were missing, whose kernel had to be stopped, and who needs manual grading.
Exit status 1 when any submission failed, 2 when the grading environment
itself is broken (the run stops at the first student it would hit, since it
would hit them all).

nbgrader stops with "No notebooks found" when none of a student's expected
notebooks is present (missing or renamed); such a submission is recorded
here, through nbgrader's gradebook API, as nbgrader records a missing
notebook: every grade zero, nothing to grade by hand.
"""

import argparse
import glob
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field

import nbformat
import sqlalchemy.orm
from jupyter_client.kernelspec import KernelSpecManager
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.nbgraderapp import NbGraderApp

from grader import gradebook, integrity, sandbox, scratch, submissions, verdicts
from grader.course import ROOT, course_directory, load_config, nbgrader_env, notebooks

STUDENT_CAP_SECONDS = 3600  # default for --student-cap: the longest one submission may take


ENVIRONMENT_BROKEN = "grading stopped, the grading environment is broken"  # GradingEnvironmentError


class EnvironmentBroken(RuntimeError):
    """A submission's grading found the environment broken: it would hit every student, so stop."""


@dataclass
class Result:
    """The outcome of autograding one student's submission."""

    student: str
    status: str = "graded"  # graded | failed | skipped
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    penalty: float = 0.0
    needs_manual: bool = False
    notes: list = field(default_factory=list)
    seconds: float = 0.0


def _failure_reason(log):
    """Return a one-line reason from an nbgrader log that reports a failed submission."""
    if "NotJSONError" in log or "JSONDecodeError" in log:
        match = re.search(r"JSONDecodeError: (.*)", log)
        return "a notebook is not valid JSON" + (f" ({match.group(1).strip()})" if match else "")
    if "kernel became unresponsive" in log:
        return "the kernel became unresponsive and could not be interrupted"
    errors = re.findall(r"^\s*(?:[\w.]+(?:Error|Exception)): .*$", log, flags=re.M)
    if errors:
        return errors[-1].strip()[:300]
    lines = [line for line in log.splitlines() if "| ERROR]" in line]
    return lines[0].split("]", 1)[1].strip()[:300] if lines else "nbgrader failed; see the log"


def zero_missing_submission(db_url, course_id, assignment, student):
    """Record every grade of a submission with no expected notebook as zero, as nbgrader does."""
    with Gradebook(db_url, course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy autoflush noise from nbgrader's own API
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
        written = {}
        for notebook in gb.find_assignment(assignment).notebooks:
            for grade in gb.find_submission_notebook(notebook.name, assignment, student).grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
                written[integrity.key(student, assignment, notebook.name, grade.name)] = 0
        gb.db.commit()
    integrity.record(db_url, written)


def run_forked(args, root, timeout, on_fork=None):
    """Run `nbgrader ARGS` in a child forked from this process; return (exit status, log).

    The child starts a new session in `root`, with nbgrader_env()'s environment,
    and writes its output to a temporary file that becomes the log. After
    `timeout` seconds the child's process group is killed and the status is
    None. The child's temporary files (the sandbox's socket folder, the verdict
    worker's folder) go in a folder of its own, removed when it ends, so that
    a killed child leaves nothing behind. This process must hold no open
    gradebook connection when it forks (every Gradebook here is used in a
    `with` block, which closes it).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    with (
        tempfile.TemporaryFile("w+") as log,
        tempfile.TemporaryDirectory(prefix="nbg-run-", ignore_cleanup_errors=True) as scratch,
    ):
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.setsid()
                if on_fork is not None:
                    on_fork()
                os.chdir(root)
                env = nbgrader_env()
                env["TMPDIR"] = tempfile.tempdir = scratch
                os.environ.clear()
                os.environ.update(env)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                try:
                    NbGraderApp.launch_instance(argv=list(args))
                    code = 0
                except SystemExit as done:
                    if isinstance(done.code, str):  # what the interpreter would print on exit
                        print(done.code, file=sys.stderr)
                    code = done.code if isinstance(done.code, int) else int(done.code is not None)
                # os._exit skips atexit: the integrity step is explicit, once per student
                integrity.finish()
            except BaseException:  # noqa: BLE001 -- reported in the log, like a crashed command
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline, status = time.monotonic() + timeout, None
        try:
            while status is None and time.monotonic() < deadline:
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(raw)
                else:
                    time.sleep(0.02)
        finally:
            if status is None:  # past the cap, or this process was interrupted (Ctrl-C)
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        log.seek(0)
        text = log.read()
    return status, text


def preload(kernel_name="python3"):
    """Do here, once, the start-up work every forked child would repeat (about 0.45 s each).

    The course configuration is loaded already (course_directory); what is left
    is finding matplotlib's font cache for the confined kernels, which imports
    matplotlib, the kernel spec, which imports IPython, nbformat's compiled
    notebook schema and SQLAlchemy's configured gradebook mappers (together
    0.05 s a child; a process that has read a notebook and a gradebook has
    them already, a fork server has not), and the warm server the children's
    verdict workers are forked from (grader.verdicts.start_server).
    """
    sandbox.font_cache()
    KernelSpecManager().get_kernel_spec(kernel_name)
    nbformat.validate(nbformat.v4.new_notebook())
    sqlalchemy.orm.configure_mappers()
    if verdicts.start_server() is None:
        print("warning: the warm verdict-worker server did not start; each notebook starts its own worker "
              "(the same verdicts, 0.4-1 s more CPU time per notebook)", file=sys.stderr, flush=True)


def incidents(autograded_dir):
    """Return the incidents and refusals ResilientExecute recorded in autograded notebooks."""
    found = []
    for path in sorted(glob.glob(os.path.join(autograded_dir, "*.ipynb"))):
        meta = nbformat.read(path, as_version=4).metadata.get("grader", {})
        reasons = ([meta["incident"]] if meta.get("incident") else []) + [
            r for r in meta.get("refusals", []) if r != meta.get("incident")
        ]
        found += [f"{os.path.basename(path)}: {reason}" for reason in reasons]
    return found


def check_submission(coursedir, assignment, student, expected):
    """Before grading: quarantine what is not a regular file, and note missing notebooks.

    Returns (Result, all_missing): a Result carrying the notes, and whether no
    expected notebook is present at all (then nothing is run: it scores zero).
    """
    result = Result(student)
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    # only regular files reach nbgrader: the rest moves aside before anything reads it
    result.notes += [f"refused {note}" for note in
                     submissions.guard(submitted, os.path.join(coursedir.root, "grader", "quarantine"))]
    present = notebooks(submitted)
    missing = [n for n in expected if n not in present]
    unknown = [n for n in present if n not in expected]
    if missing:
        result.notes.append(
            "missing notebook(s): "
            + ", ".join(f"{n}.ipynb" for n in missing)
            + (
                " (found instead: " + ", ".join(f"{n}.ipynb" for n in unknown) + ")"
                if unknown
                else ""
            )
        )
    return result, len(missing) == len(expected)


def judge_run(result, status, log, cap, log_path):
    """After nbgrader ran for one student: keep its log, and read what happened into `result`.

    Raises EnvironmentBroken when the run found the grading environment broken.
    """
    if status is None:
        log += f"\nkilled after {cap:g} s"
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "w") as fh:
        fh.write(log)
    if ENVIRONMENT_BROKEN in log:
        line = next(x for x in log.splitlines() if ENVIRONMENT_BROKEN in x)
        raise EnvironmentBroken(line[line.index(ENVIRONMENT_BROKEN):])
    problems = re.findall(r"^GRADEBOOK INTEGRITY PROBLEMS.*(?:\n  .*)*", log, flags=re.M)
    result.notes += [line.strip() for p in problems for line in p.splitlines()[1:]]
    if status is None:
        result.status = "failed"
        result.reason = f"stopped at the cap of {cap:g} s per submission (--student-cap)"
    elif status != 0:
        result.status, result.reason = "failed", _failure_reason(log)
    elif "Skipping existing assignment" in log:
        result.status = "skipped"


def read_scores(coursedir, assignment, student, result):
    """Fill `result`'s score, maximum, penalty and manual-grading flag from the gradebook."""
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return result
        result.score, result.max_score = submission.score, submission.max_score
        result.penalty = submission.late_submission_penalty or 0.0
        result.needs_manual = submission.needs_manual_grade and result.status != "failed"
    return result


def grade_student(
    coursedir, assignment, student, expected, force=False, extra_args=(), cap=STUDENT_CAP_SECONDS
):
    """Autograde one student's submission here, stopped after `cap` seconds; return its Result."""
    result, all_missing = check_submission(coursedir, assignment, student, expected)
    start = time.monotonic()
    if all_missing:
        zero_missing_submission(coursedir.db_url, coursedir.course_id, assignment, student)
    else:
        args = ["autograde", assignment, "--student", student, *extra_args]
        if force:
            args.append("--force")
        status, log = run_forked(args, coursedir.root, cap)
        judge_run(result, status, log, cap,
                  os.path.join(coursedir.root, "grader", "logs", assignment, f"{student}.log"))
        result.notes += incidents(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    result.seconds = time.monotonic() - start
    return read_scores(coursedir, assignment, student, result)


def summarize(assignment, results, integrity_report=None, dashboard=None):
    """Return the class summary as text."""

    def group(status):
        return [r for r in results if r.status == status]

    lines = [
        f"Summary for {assignment}: {len(results)} submission(s)",
        f"  graded: {len(group('graded'))}",
        f"  skipped (already autograded; use --force): {len(group('skipped'))}",
        f"  failed: {len(group('failed'))}",
    ]
    lines += [f"    {r.student}: {r.reason}" for r in group("failed")]
    noted = [r for r in results if r.notes]
    lines.append(
        f"  graded with problems (zero where it could not run or was missing): {len(noted)}"
    )
    lines += [f"    {r.student}: {note}" for r in noted for note in r.notes]
    late = [r for r in results if r.penalty]
    lines.append(
        f"  late: {len(late)}" + "".join(f"\n    {r.student}: -{r.penalty:g} points" for r in late)
    )
    manual = [r.student for r in results if r.needs_manual]
    lines.append(
        f"  needing manual grading: {len(manual)}" + (f" ({', '.join(manual)})" if manual else "")
    )
    if integrity_report is not None:
        checked, problems = integrity_report
        lines.append(
            f"  gradebook integrity: {'OK' if not problems else 'PROBLEMS'} "
            f"({checked} auto grade(s) checked against what the grader wrote)"
        )
        lines += [f"    {p}" for p in problems]
    if dashboard:
        lines.append(f"  Dask dashboard (while the cluster ran): {dashboard}")
    return "\n".join(lines)


def main(argv=None):
    """Autograde every submission of one or more assignments and print a summary of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+", metavar="assignment",
                        help="one or more assignments; on a cluster, all of them share one queue")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument(
        "--force", action="store_true", help="regrade submissions already autograded"
    )
    parser.add_argument("--root", default=ROOT, help="course root (default: this repository)")
    parser.add_argument(
        "--student-cap",
        type=float,
        default=STUDENT_CAP_SECONDS,
        metavar="SECONDS",
        help=f"stop a submission's grading after this long (default: {STUDENT_CAP_SECONDS})",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, metavar="N",
        help="grade on a local Dask cluster of N workers (default: one per core); 1 grades here, one by one",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="grade on an existing Dask cluster, e.g. tcp://HOST:8786 (its workers need the course package "
             "and bubblewrap)",
    )
    parser.add_argument(
        "--db-patience", type=float, default=gradebook.PATIENCE_SECONDS, metavar="SECONDS",
        help="how long a write waits for a gradebook that went away before the run stops "
             f"(default: {gradebook.PATIENCE_SECONDS:g})",
    )
    args, extra = parser.parse_known_args(argv)
    scratch.stop_on_sigterm()  # a stopped run kills its current child and removes its folders
    config = load_config(args.root)
    coursedir = course_directory(args.root)
    print(f"gradebook: {gradebook.describe(coursedir.db_url)}", flush=True)
    try:
        gradebook.check(coursedir.db_url)
    except gradebook.GradebookUnreachable as error:
        parser.exit(2, f"{error}\n")
    sequential = args.workers <= 1 and not args.scheduler
    if sequential and config.SandboxKernelManager.get("confine", True):
        try:
            sandbox.preflight()
        except sandbox.SandboxUnavailable as error:
            parser.exit(2, f"refusing to grade unconfined: {error}\n")
        try:  # before any student: the confined kernel must import the grader's own utils
            print(f"course package: {sandbox.check_course_package(config)}, the same in the sandbox",
                  flush=True)
        except sandbox.SandboxUnavailable as error:
            parser.exit(2, f"{ENVIRONMENT_BROKEN}: {error}; no grade was recorded\n")
    classes = []
    for assignment in dict.fromkeys(args.assignments):  # each once, in the order given
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            try:
                expected = sorted(n.name for n in gb.find_assignment(assignment).notebooks)
            except MissingEntry:
                parser.error(
                    f"expected assignment '{assignment}' in the gradebook; "
                    "run `python -m grader.release` first"
                )
        pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
        students = args.student or sorted(
            os.path.basename(os.path.dirname(p)) for p in glob.glob(pattern)
        )
        if not students:
            parser.error(f"expected submissions in {pattern}, found none")
        classes.append((assignment, students, expected))
    dashboard = None
    try:
        if sequential:
            results = {assignment: grade_here(coursedir, assignment, students, expected, args.force, extra,
                                              args.student_cap)
                       for assignment, students, expected in classes}
        else:
            from grader import parallel

            results, dashboard = parallel.grade_classes(
                coursedir, classes, workers=args.workers, scheduler=args.scheduler, force=args.force,
                extra=extra, cap=args.student_cap, db_patience=args.db_patience)
    except EnvironmentBroken as error:
        print(f"stopped\n{error}; no grade was recorded for the submission it hit", flush=True)
        return 2
    except gradebook.GradebookUnreachable as error:
        print(f"stopped\n{error}", flush=True)
        return 2
    except Exception as error:
        from grader.parallel import VersionMismatch

        if not isinstance(error, VersionMismatch):
            raise
        print(f"stopped\n{error}", flush=True)
        return 2
    report = integrity.verify(coursedir.db_url, coursedir.course_id)
    print("\n".join(summarize(assignment, graded, report, dashboard) for assignment, graded in results.items()))
    everyone = [r for graded in results.values() for r in graded]
    return 1 if any(r.status == "failed" for r in everyone) or report[1] else 0


def progress(student, result, done, total, failed, begun):
    """One line per finished submission: its outcome, then the class's counts, rate and time left."""
    outcome = (result.status if result.status != "graded"
               else f"graded {result.score - result.penalty:g}/{result.max_score:g}")
    rate = done / max(time.monotonic() - begun, 1e-9) * 60  # submissions per minute
    left = total - done
    eta = left / rate * 60 if rate else 0
    return (f"[{done}/{total}] {student} ... {outcome} ({result.seconds:.1f} s)"
            + (f": {result.reason}" if result.reason else "")
            + f" | done {done}, failed {failed}, left {left}, {rate:.1f}/min"
            + (f", about {int(eta) // 60} min {int(eta) % 60:02d} s left" if left else ""))


def grade_here(coursedir, assignment, students, expected, force, extra, cap):
    """Grade the class on this machine, one submission after another; return the Results."""
    preload()
    results, failed, begun = [], 0, time.monotonic()
    for index, student in enumerate(students, 1):
        result = grade_student(coursedir, assignment, student, expected, force, extra, cap)
        results.append(result)
        failed += result.status == "failed"
        print(progress(student, result, index, len(students), failed, begun), flush=True)
    return results

if __name__ == "__main__":
    # run the importable module's main, so that its exceptions are the ones grader.parallel raises
    from grader.autograde_class import main as run

    sys.exit(run())
