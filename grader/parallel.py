"""Grading a class in parallel, on this machine or on a Dask cluster: one engine, Dask distributed.

    python -m grader.autograde_class A [B ...] --workers N   # a local cluster of N workers
    python -m grader.autograde_class A [B ...] --scheduler tcp://HOST:8786

The coordinator (this module, in the instructor's process) sends each
submission to a worker as a task that carries everything it needs: the
submission's regular files, the server's time it was submitted, the due date,
and, once per worker, the assignment's notebooks (source/ with its hidden
tests, and release/). Workers share no filesystem with the coordinator. A
worker needs only the course package installed (this repository, which holds
`grader` and `utils`) and bubblewrap; one whose package differs from the
coordinator's is refused, naming both versions.

On a worker, a fork server (grader/zygote.py) with nbgrader imported grades
each submission in a forked child exactly as the class runner does on one
machine (confined kernel, trusted verdicts, timeouts, late policy, restored
cells, a log and a cap), into a private scratch gradebook. What travels back
is data: the autograded notebooks, every grade, comment and late penalty, the
log and any incident. Only the coordinator writes the course's gradebook, one
submission per transaction, retried while the database is briefly away.

Failures, and what the instructor sees:

* a worker dies while grading: Dask gives the task to another worker; each
  submission is written once;
* a submission whose grading kills its worker twice is reported as failed
  ("it killed the worker grading it twice"), never tried a third time
  (`distributed.scheduler.allowed-failures` = 1 in grader/dask/grading.yaml,
  the Dask settings of every cluster this starts);
* the coordinator dies: running the same command again grades only the
  submissions that are not yet graded or have changed since (grader/logs/A/
  graded.json records what was graded from which files);
* the gradebook goes away: each write is retried for --db-patience seconds,
  then the run stops and says so; grades already written stay;
* the grading environment is broken (a worker cannot import the course
  package in its sandbox, no bubblewrap): the run stops at once, no grade.
"""

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from nbgrader.api import Gradebook, MissingEntry

from grader import gradebook, integrity, sandbox
from grader.autograde_class import (
    ENVIRONMENT_BROKEN,
    EnvironmentBroken,
    check_submission,
    incidents,
    judge_run,
    progress,
    read_scores,
    zero_missing_submission,
)

DASK_SETTINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dask")  # DASK_CONFIG for a cluster
RECORD = "graded.json"  # grader/logs/A/graded.json: {student: digest of the files graded}


class VersionMismatch(RuntimeError):
    """A worker's course package is not the coordinator's: it would grade against other code."""


# ---- what travels -----------------------------------------------------------------------------

def course_version():
    """Return this process's course code as 'utils <hash>, grader <hash>' (the installed packages)."""
    import grader
    import utils

    return ", ".join(f"{module.__name__} {sandbox.package_fingerprint(os.path.dirname(module.__file__))[:16]}"
                     for module in (utils, grader))


def _read_tree(root, relative):
    files = {}
    folder = os.path.join(root, relative)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", ".ipynb_checkpoints"))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                files[os.path.relpath(path, root)] = fh.read()
    return files


def _write_tree(folder, files, mode=None, only=""):
    """Write {relative path: bytes} under `folder` (the paths starting with `only`); chmod to `mode` if given."""
    for name, data in files.items():
        if not name.startswith(only):
            continue
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(path, mode)


def course_bundle(root, assignment):
    """Return what a worker needs of the course to grade `assignment`: {relative path: bytes}.

    The configuration (the root loader and grader/nbgrader_config.py, with the
    release header) and the assignment's source/ and release/ folders. The
    code, `grader` and `utils`, is the worker's own installed package.
    """
    files = {}
    for name in ("nbgrader_config.py", "grader/nbgrader_config.py", "grader/release_header.ipynb"):
        with open(os.path.join(root, name), "rb") as fh:
            files[name] = fh.read()
    for kind in ("source", "release"):
        files.update(_read_tree(root, os.path.join(kind, assignment)))
    missing = [name.replace("source/", "release/", 1) for name in files
               if name.startswith("source/") and name.endswith(".ipynb")
               and name.replace("source/", "release/", 1) not in files]
    if missing:  # the canonical notebook every submission is planned from
        raise EnvironmentBroken(f"{ENVIRONMENT_BROKEN}: {', '.join(missing)} missing, so no submission can be "
                                "planned from it; run `make release` (python -m grader.release)")
    return files


def digest(files):
    """A sha256 over a {relative path: bytes} mapping."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


# ---- the worker's side ------------------------------------------------------------------------

class Zygote:
    """This worker's fork server (grader/zygote.py), started on first use and again if it died."""

    def __init__(self):
        self.process = None
        self.lock = threading.Lock()

    def ask(self, request):
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = subprocess.Popen([sys.executable, "-m", "grader.zygote"], stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE, text=True, bufsize=1,
                                                cwd=tempfile.gettempdir())
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the worker's fork server died")
            return json.loads(line)

    def stop(self, timeout=10):
        """End the fork server and wait for it: it kills its running child and removes the child's folders."""
        process = self.process  # not under the lock: a task may be waiting on this server's answer
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()


_ZYGOTE = Zygote()
_ROOTS = {}  # digest of the course configuration -> this worker's scratch course root, prepared
_LOADED = {}  # (root, assignment) -> digest of the bundle of that assignment generated there
_ROOTS_LOCK = threading.Lock()  # a worker with several threads loads each assignment once


def stop_fork_server():
    """Stop this worker's fork server and wait until it has cleaned up (run on every worker)."""
    _ZYGOTE.stop()


def _worker_directory():
    """This Dask worker's own scratch folder: Dask removes it when the worker stops, or, if the
    worker was killed, when the next worker starts beside it."""
    from distributed import get_worker

    try:
        return get_worker().local_directory
    except ValueError:  # called outside a Dask worker
        return tempfile.gettempdir()


def _scratch_root(bundle, assignment, duedate):
    """Return a course root of this worker's own holding `bundle`, with a gradebook that knows the assignment.

    One root per course configuration, shared by every assignment this worker grades: its
    gradebook is created and its sandbox checked once, and each assignment is generated
    into it once, again only if its bundle changes.
    """
    config = {name: data for name, data in bundle.items() if not name.startswith(("source/", "release/"))}
    key = digest(config)
    with _ROOTS_LOCK:
        if key not in _ROOTS:
            root = os.path.join(_worker_directory(), f"nn-course-{os.getpid()}-{key[:16]}")
            shutil.rmtree(root, ignore_errors=True)
            _write_tree(root, config)
            reply = _ZYGOTE.ask({"op": "prepare", "root": root})
            if reply["op"] == "error":
                raise EnvironmentBroken(f"{ENVIRONMENT_BROKEN} on a worker: {reply['error']}")
            _ROOTS[key] = root
        root, wanted = _ROOTS[key], digest(bundle)
        if _LOADED.get((root, assignment)) != wanted:
            for kind in ("source", "release"):
                shutil.rmtree(os.path.join(root, kind, assignment), ignore_errors=True)
            _write_tree(root, bundle, only=f"source/{assignment}/")
            reply = _ZYGOTE.ask({"op": "run", "root": root, "cap": 600,
                                 "args": ["generate_assignment", assignment, "--force"]})
            if reply["status"] != 0:
                raise EnvironmentBroken(f"{ENVIRONMENT_BROKEN}: the worker could not load {assignment} into its "
                                        f"gradebook:\n{reply['log'][-2000:]}")
            # plan from the coordinator's release, exactly
            _write_tree(root, bundle, only=f"release/{assignment}/")
            _LOADED[root, assignment] = wanted
    from grader.course import course_directory

    coursedir = course_directory(root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        gb.update_or_create_assignment(assignment, duedate=duedate)
    return root, coursedir


def _submission_record(gb, assignment, student):
    """Everything autograding wrote for one submission, as plain data."""
    submission = gb.find_submission(assignment, student)
    record = {"timestamp": submission.timestamp.isoformat() if submission.timestamp else None,
              "notebooks": {}}
    for notebook in submission.notebooks:
        record["notebooks"][notebook.name] = {
            "grades": {g.name: [g.auto_score, bool(g.needs_manual_grade)] for g in notebook.grades},
            "comments": {c.name: c.auto_comment for c in notebook.comments},
            "penalty": notebook.late_submission_penalty,
            "flagged": bool(notebook.flagged),
        }
    return record


def grade_task(task, bundle):
    """Grade one submission on this worker and return the result as data (runs in a Dask task)."""
    # a worker grades into its own scratch gradebook, never the course's: only the coordinator writes that
    os.environ.pop(gradebook.ENV, None)
    mine = course_version()
    if mine != task["version"]:
        raise VersionMismatch(f"this worker runs course code {mine}; the coordinator runs {task['version']}")
    assignment, student = task["assignment"], task["student"]
    root, coursedir = _scratch_root(bundle, assignment, task["duedate"])
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    autograded = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    for folder in (submitted, autograded):
        shutil.rmtree(folder, ignore_errors=True)
    _write_tree(submitted, task["files"])
    start = time.monotonic()
    reply = _ZYGOTE.ask({"op": "run", "root": root, "cap": task["cap"],
                         "args": ["autograde", assignment, "--student", student, "--force", *task["extra"]]})
    out = {"student": student, "status": reply["status"], "log": reply["log"],
           "seconds": time.monotonic() - start, "files": {}, "record": None, "incidents": []}
    if os.path.isdir(autograded):
        out["files"] = _read_tree(autograded, ".")
        out["incidents"] = incidents(autograded)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            out["record"] = _submission_record(gb, assignment, student)
        except MissingEntry:
            pass
    for folder in (submitted, autograded):
        shutil.rmtree(folder, ignore_errors=True)
    return out


# ---- the coordinator's side -------------------------------------------------------------------

def write_record(gb, assignment, student, record):
    """Write one submission's grades into the course gradebook, in one transaction; return the journal entries."""
    from nbgrader.utils import parse_utc

    timestamp = parse_utc(record["timestamp"]) if record["timestamp"] else None
    gb.update_or_create_student(student)  # as autograde adds a student it does not know
    submission = gb.update_or_create_submission(assignment, student, timestamp=timestamp)
    written = {}
    for notebook in submission.notebooks:
        data = record["notebooks"].get(notebook.name)
        if data is None:
            continue
        for grade in notebook.grades:
            grade.auto_score, grade.needs_manual_grade = data["grades"].get(grade.name, [None, True])
            written[integrity.key(student, assignment, notebook.name, grade.name)] = grade.auto_score
        for comment in notebook.comments:
            comment.auto_comment = data["comments"].get(comment.name)
        notebook.late_submission_penalty = data["penalty"]
        notebook.flagged = data["flagged"]
    gb.db.commit()
    return written


def _files_of(folder):
    """The submission's regular files (after the guard), as {relative path: bytes}."""
    return _read_tree(folder, ".") if os.path.isdir(folder) else {}


def _load_record(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (FileNotFoundError, ValueError):
        return {}


def _save_record(path, record):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def _graded_already(coursedir, assignment, student, files_digest, record):
    if record.get(student) != files_digest:
        return False
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            return False
    return os.path.isdir(coursedir.format_path(coursedir.autograded_directory, student, assignment))


def _the(value):
    return value


def _slots(client):
    """How many submissions the cluster grades at once: one per worker thread (at least one)."""
    return max(1, sum(client.nthreads().values()))


def start_cluster(workers, scheduler=None):
    """Return (client, cluster, where): a Dask client on a new local cluster, or on `scheduler`.

    The local cluster's processes take the course's Dask settings (grader/dask/grading.yaml).
    """
    import dask
    from distributed import Client, LocalCluster

    dask.config.update(dask.config.config, dask.config.collect([DASK_SETTINGS], env={}), priority="new")
    if scheduler:
        client = Client(scheduler, timeout="30s")
        return client, None, scheduler
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0" if _has_dashboard() else None,
                           death_timeout=20, silence_logs=40)
    return Client(cluster), cluster, f"a local cluster of {workers} worker(s)"


def _has_dashboard():
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None  # Dask's dashboard needs it


def grade_classes(coursedir, classes, workers=None, scheduler=None, force=False, extra=(), cap=3600.0,
                  db_patience=gradebook.PATIENCE_SECONDS, out=print):
    """Grade classes on one Dask cluster; return ({assignment: [Result]}, where the dashboard is or None).

    `classes` is [(assignment, students, expected notebooks)]. Every submission of
    every assignment waits in one queue, so the workers stay busy from the first
    assignment to the last and start up once. Raises EnvironmentBroken or
    VersionMismatch when the run must stop.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    # before any worker: a course may be incomplete
    bundles = {assignment: course_bundle(coursedir.root, assignment) for assignment, _, _ in classes}
    client, cluster, where = start_cluster(workers, scheduler)
    try:
        version = course_version()
        seen = client.run(course_version)
        wrong = {address: theirs for address, theirs in seen.items() if theirs != version}
        if wrong:
            raise VersionMismatch("refusing workers whose course code differs from the coordinator's ("
                                  + version + "): " + "; ".join(f"{a} runs {v}" for a, v in wrong.items()))
        out(f"grading on {where}: {len(seen)} worker(s), course code {version}", flush=True)
        dashboard = client.dashboard_link if "dashboard" in client.scheduler_info().get("services", {}) else None
        if dashboard:
            out(f"Dask dashboard: {dashboard}", flush=True)
        several = len(classes) > 1
        results, records, tasks, pending, futures = {}, {}, [], {}, {}
        total, done, failed, begun = sum(len(students) for _, students, _ in classes), 0, 0, time.monotonic()

        def finished(assignment, student):
            nonlocal done, failed
            result = results[assignment][student]
            done += 1
            failed += result.status == "failed"
            label = f"{assignment}/{student}" if several else student
            out(progress(label, result, done, total, failed, begun), flush=True)

        for assignment, students, expected in classes:
            with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
                due = gb.find_assignment(assignment).duedate
            files_of_course = bundles[assignment]
            # a task, not scattered data: if every worker holding it dies, Dask makes it again
            bundle = client.submit(_the, files_of_course,
                                   key=f"bundle-{assignment}-{digest(files_of_course)[:12]}", pure=False)
            record_path = os.path.join(coursedir.root, "grader", "logs", assignment, RECORD)
            records[assignment] = (record_path, _load_record(record_path))
            results[assignment] = {}
            for student in students:
                result, all_missing = check_submission(coursedir, assignment, student, expected)
                results[assignment][student] = result
                submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
                if all_missing:  # nothing to send: it scores zero here, as nbgrader records it
                    gradebook.retrying(lambda a=assignment, s=student: zero_missing_submission(
                        coursedir.db_url, coursedir.course_id, a, s), coursedir.db_url, db_patience)
                elif not force and _graded_already(coursedir, assignment, student, digest(_files_of(submitted)),
                                                   records[assignment][1]):
                    result.status = "skipped"
                else:  # its files are read again when it is sent: a class's files need not fit in memory
                    tasks.append(({"assignment": assignment, "student": student, "version": version,
                                   "duedate": due, "extra": list(extra), "cap": cap}, bundle))
                    continue
                gradebook.retrying(lambda a=assignment, r=result, s=student: read_scores(coursedir, a, s, r),
                                   coursedir.db_url, db_patience)
                finished(assignment, student)
        # Each worker holds one submission at a time: a worker that dies then takes down only the
        # one it was grading (Dask counts the death against every task the worker holds).
        running, queue = as_completed(), list(reversed(tasks))

        def send():
            task, bundle = queue.pop()
            which = task["assignment"], task["student"]
            task["files"] = _files_of(coursedir.format_path(coursedir.submitted_directory, task["student"],
                                                            task["assignment"]))
            pending[which] = digest(task["files"])
            key = f"grade-{which[0]}-{which[1]}-{pending[which][:12]}"
            future = client.submit(grade_task, task, bundle, pure=False, key=key)
            futures[future] = which
            running.add(future)

        for _ in range(min(len(queue), _slots(client))):
            send()
        for future in running:
            assignment, student = futures.pop(future)
            while queue and len(futures) < _slots(client):  # the worker's next task first, then this answer
                send()
            result = results[assignment][student]
            try:
                answer = future.result()
            except KilledWorker:
                result.status, result.reason = "failed", "it killed the worker grading it twice; not tried again"
                answer = None
            except (EnvironmentBroken, VersionMismatch):
                client.cancel(list(futures))
                raise
            except Exception as error:  # the grading machinery itself failed: no grade can be trusted
                client.cancel(list(futures))
                raise EnvironmentBroken(f"{ENVIRONMENT_BROKEN}: grading {student} ({assignment}) failed on a worker: "
                                        f"{type(error).__name__}: {error}") from None
            if answer is not None:
                _take_answer(coursedir, assignment, result, answer, cap, db_patience)
                if result.status != "failed":
                    record_path, record = records[assignment]
                    record[student] = pending[assignment, student]
                    _save_record(record_path, record)
            finished(assignment, student)
        graded = {assignment: [results[assignment][s] for s in students] for assignment, students, _ in classes}
        return graded, dashboard
    finally:
        if cluster is not None:  # our own workers: their children's folders are gone before this returns
            with contextlib.suppress(Exception):
                client.run(stop_fork_server)
        client.close()
        if cluster is not None:
            cluster.close()


def _take_answer(coursedir, assignment, result, answer, cap, db_patience):
    """Keep a worker's answer: its log, the autograded files, the grades (written, retried), the outcome."""
    student = answer["student"]
    result.seconds = answer["seconds"]
    judge_run(result, answer["status"], answer["log"], cap,
              os.path.join(coursedir.root, "grader", "logs", assignment, f"{student}.log"))
    result.notes += answer["incidents"]
    autograded = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    shutil.rmtree(autograded, ignore_errors=True)
    _write_tree(autograded, answer["files"], mode=0o444)  # read-only, as nbgrader leaves them
    if answer["record"] is not None:  # what nbgrader left, as it would have left it here, failed or not
        def write():
            with Gradebook(coursedir.db_url, coursedir.course_id) as gb, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SQLAlchemy autoflush noise from nbgrader's own API
                return write_record(gb, assignment, student, answer["record"])

        integrity.record(coursedir.db_url, gradebook.retrying(write, coursedir.db_url, db_patience))
    gradebook.retrying(lambda: read_scores(coursedir, assignment, student, result), coursedir.db_url, db_patience)
