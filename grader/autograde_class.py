"""Autograde a whole class with nbgrader, showing progress and a summary.

    python -m grader.autograde_class ASSIGNMENT [--student ID ...] [--force]

Runs `nbgrader autograde ASSIGNMENT --student ID` once per submission under
grader/submitted/*/ASSIGNMENT, each in its own process with a wall-clock cap,
so one broken submission never stops the class. Logs go to
grader/logs/ASSIGNMENT/ID.log. The summary lists who was graded, who failed
(and why), whose notebooks were missing, whose kernel had to be stopped, and
who needs manual grading. Exit status 1 when any submission failed.

nbgrader stops with "No notebooks found" when none of a student's expected
notebooks is present (missing or renamed); such a submission is recorded
here, through nbgrader's gradebook API, as nbgrader records a missing
notebook: every grade zero, nothing to grade by hand.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grader import integrity
from grader.course import ROOT, course_directory, nbgrader_env, notebooks

STUDENT_CAP_SECONDS = 3600  # a whole submission may not take longer than this


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


def _zero_missing_submission(db_url, course_id, assignment, student):
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


def _incidents(autograded_dir):
    """Return the incidents and refusals ResilientExecute recorded in autograded notebooks."""
    found = []
    for path in sorted(glob.glob(os.path.join(autograded_dir, "*.ipynb"))):
        meta = nbformat.read(path, as_version=4).metadata.get("grader", {})
        reasons = ([meta["incident"]] if meta.get("incident") else []) + [
            r for r in meta.get("refusals", []) if r != meta.get("incident")
        ]
        found += [f"{os.path.basename(path)}: {reason}" for reason in reasons]
    return found


def grade_student(coursedir, assignment, student, expected, force=False, extra_args=()):
    """Autograde one student's submission and return its Result."""
    result = Result(student)
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
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
    start = time.monotonic()
    if len(missing) == len(expected):
        _zero_missing_submission(coursedir.db_url, coursedir.course_id, assignment, student)
    else:
        log_dir = os.path.join(coursedir.root, "grader", "logs", assignment)
        os.makedirs(log_dir, exist_ok=True)
        args = [
            sys.executable,
            "-m",
            "nbgrader",
            "autograde",
            assignment,
            "--student",
            student,
            *extra_args,
        ]
        if force:
            args.append("--force")
        try:
            proc = subprocess.run(
                args,
                cwd=coursedir.root,
                env=nbgrader_env(),
                capture_output=True,
                text=True,
                timeout=STUDENT_CAP_SECONDS,
                start_new_session=True,
            )
            log = proc.stdout + proc.stderr
            failed = proc.returncode != 0
        except subprocess.TimeoutExpired as error:
            log = (error.stdout or b"").decode() + (error.stderr or b"").decode()
            log += f"\nkilled after {STUDENT_CAP_SECONDS} s"
            failed = True
        with open(os.path.join(log_dir, f"{student}.log"), "w") as fh:
            fh.write(log)
        problems = re.findall(r"^GRADEBOOK INTEGRITY PROBLEMS.*(?:\n  .*)*", log, flags=re.M)
        result.notes += [line.strip() for p in problems for line in p.splitlines()[1:]]
        if failed:
            result.status, result.reason = "failed", _failure_reason(log)
        elif "Skipping existing assignment" in log:
            result.status = "skipped"
        autograded = coursedir.format_path(coursedir.autograded_directory, student, assignment)
        result.notes += _incidents(autograded)
    result.seconds = time.monotonic() - start
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return result
        result.score, result.max_score = submission.score, submission.max_score
        result.penalty = submission.late_submission_penalty or 0.0
        result.needs_manual = submission.needs_manual_grade and result.status != "failed"
    return result


def summarize(assignment, results, integrity_report=None):
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
    return "\n".join(lines)


def main(argv=None):
    """Autograde every submission of an assignment and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument(
        "--force", action="store_true", help="regrade submissions already autograded"
    )
    parser.add_argument("--root", default=ROOT, help="course root (default: this repository)")
    args, extra = parser.parse_known_args(argv)
    coursedir = course_directory(args.root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            expected = sorted(n.name for n in gb.find_assignment(args.assignment).notebooks)
        except MissingEntry:
            parser.error(
                f"expected assignment '{args.assignment}' in the gradebook; "
                "run `python -m grader.release` first"
            )
    pattern = coursedir.format_path(coursedir.submitted_directory, "*", args.assignment)
    students = args.student or sorted(
        os.path.basename(os.path.dirname(p)) for p in glob.glob(pattern)
    )
    if not students:
        parser.error(f"expected submissions in {pattern}, found none")
    results = []
    for index, student in enumerate(students, 1):
        print(f"[{index}/{len(students)}] {student} ...", end=" ", flush=True)
        result = grade_student(coursedir, args.assignment, student, expected, args.force, extra)
        results.append(result)
        outcome = (
            result.status
            if result.status != "graded"
            else f"graded {result.score - result.penalty:g}/{result.max_score:g}"
        )
        print(
            f"{outcome} ({result.seconds:.1f} s)" + (f": {result.reason}" if result.reason else ""),
            flush=True,
        )
    report = integrity.verify(coursedir.db_url, coursedir.course_id)
    print(summarize(args.assignment, results, report))
    return 1 if any(r.status == "failed" for r in results) or report[1] else 0


if __name__ == "__main__":
    sys.exit(main())
