"""Grading a class in parallel on Dask, into SQLite or a real PostgreSQL, with real processes killed.

Every test grades the toy assignment's class (tests/grading/toy_course: the
reference, a wrong answer, the untouched release, a late one, a deleted test,
an edited locked cell, a bad notebook, a renamed one) plus one slow submission,
with `python -m grader.autograde_class`. The yardstick is the same class graded
sequentially (`--workers 1`): every parallel, interrupted or resumed run must
end with the same gradebook.
"""

import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
from nbgrader.api import Gradebook

from grader.course import nbgrader_env
from grader.parallel import DASK_SETTINGS
from tests.grading.course_copy import (
    DUE_DATE,
    REPO,
    TOY_SOURCE,
    build_submissions,
    grade_id,
    make_scratch_course,
    read_nb,
    write_nb,
)

pytestmark = pytest.mark.grading
ASSIGNMENT, NOTEBOOK = "00_toy", "toy"
SLOW = ("import time\ntime.sleep(6)\n\ndef sigmoid(z):\n"
        "    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))\n")


def snapshot(db_url, assignment=ASSIGNMENT):
    """Everything autograding decided, per (student, notebook): time, late penalty, grades, comments."""
    out = {}
    with Gradebook(db_url) as gb:
        for submission in gb.find_assignment(assignment).submissions:
            stamp = submission.timestamp.isoformat() if submission.timestamp else None
            for nb in submission.notebooks:
                out[(submission.student_id, nb.name)] = (
                    stamp, nb.late_submission_penalty,
                    sorted((g.name, g.auto_score, bool(g.needs_manual_grade)) for g in nb.grades),
                    sorted((c.name, c.auto_comment) for c in nb.comments))
    return out


def make_class(folder, db_url=None):
    """A released toy course with the class submitted; returns (root, env)."""
    root = make_scratch_course(folder, TOY_SOURCE)
    env = nbgrader_env()
    env["TMPDIR"] = str(folder) + "-tmp"
    os.makedirs(env["TMPDIR"], exist_ok=True)
    env["NN_TEST_TAG"] = uuid.uuid4().hex  # every process of the run carries it in its environment
    if db_url:
        env["NN_COURSE_DB_URL"] = db_url
    publish(root, env, ASSIGNMENT)
    build_submissions(root, ASSIGNMENT)
    release = read_nb(os.path.join(root, "release", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    slow = copy.deepcopy(release)
    next(c for c in slow.cells if grade_id(c) == "sigmoid").source = SLOW
    write_nb(slow, os.path.join(root, "grader", "submitted", "slow", ASSIGNMENT), NOTEBOOK)
    return root, env


def publish(root, env, assignment):
    """Generate `assignment` and give it the class's due date, with nbgrader."""
    for args in (["generate_assignment", assignment, "--force"],
                 ["db", "assignment", "add", assignment, f"--duedate={DUE_DATE}"]):
        run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr[-2000:]


def db_url_of(root, env):
    return env.get("NN_COURSE_DB_URL") or "sqlite:///" + os.path.join(root, "grader", "gradebook.db")


def grade(root, env, *args, timeout=600):
    run = subprocess.run([sys.executable, "-m", "grader.autograde_class", ASSIGNMENT, *args], cwd=root, env=env,
                         capture_output=True, text=True, timeout=timeout)
    return run.returncode, run.stdout + run.stderr


def start(root, env, *args):
    """Start grading the class in the background; its output is one text stream."""
    return subprocess.Popen([sys.executable, "-m", "grader.autograde_class", ASSIGNMENT, *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def tagged(tag):
    """Pids of the processes whose environment carries the test's tag."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if f"NN_TEST_TAG={tag}".encode() in fh.read():
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found


def wait_gone(tag, seconds=60):
    """Wait for the run's processes to end; kill and return ("pid command line") those left after `seconds`."""
    deadline = time.monotonic() + seconds
    while tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = []
    for pid in tagged(tag):
        try:
            left.append(f"{pid} {cmdline(pid)[:200]}")
            os.kill(pid, signal.SIGKILL)
        except OSError:  # it ended after all
            pass
    return left


def parent(pid):
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode(errors="replace")


def grading_worker(tag, student, coordinator):
    """The pid of the Dask worker whose sandbox is running `student`'s notebook now, or None.

    Up from a bwrap process grading `student`: bwrap's own processes, then the forked
    nbgrader child and the fork server (both show `grader.zygote` in their command line,
    the child being a fork), then the Dask worker. Only a process of this test's run
    that is not the coordinator is ever returned.
    """
    mine = set(tagged(tag))
    for pid in mine:
        try:
            if "bwrap" not in cmdline(pid) or f"/autograded/{student}/{ASSIGNMENT}" not in cmdline(pid):
                continue
            while "grader.zygote" not in cmdline(pid):
                pid = parent(pid)
            while "grader.zygote" in cmdline(pid):
                pid = parent(pid)
            if pid in mine and pid not in (coordinator, 1):
                return pid
        except (OSError, IndexError, ValueError):  # it ended while we looked
            continue
    return None


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The class graded one submission after another: the yardstick."""
    root, env = make_class(tmp_path_factory.mktemp("seq") / "course")
    status, out = grade(root, env, "--workers", "1")
    assert status == 1 and "bad_json" in out, out[-3000:]  # the bad notebook fails; the run goes on
    return snapshot(db_url_of(root, env))


def test_a_worker_killed_mid_submission_is_replaced(sequential, tmp_path):
    """On 2 local workers, one killed while grading: is the class graded once each, exactly as one by one?"""
    root, env = make_class(tmp_path / "course")
    proc = start(root, env, "--workers", "2")
    killed, deadline = None, time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        killed = grading_worker(env["NN_TEST_TAG"], "slow", proc.pid)
        time.sleep(0.2)
    assert killed is not None, "never saw the slow submission being graded"
    os.kill(killed, signal.SIGKILL)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1, out[-3000:]
    assert "grading on a local cluster of 2 worker(s)" in out
    assert re.search(r"\] slow \.\.\. graded", out), out[-3000:]
    assert re.search(r"\[9/9\] \S+ \.\.\. .* \| done 9, failed 1, left 0, [\d.]+/min", out), out[-3000:]
    assert "left 1" in out and "s left" in out  # the time left is estimated while work remains
    assert snapshot(db_url_of(root, env)) == sequential
    assert wait_gone(env["NN_TEST_TAG"]) == []


def test_a_submission_that_keeps_killing_its_worker_fails_after_two_tries(sequential, tmp_path):
    """Is a submission whose grading kills its worker every time reported failed after two tries, and the rest graded?"""
    root, env = make_class(tmp_path / "course")
    proc = start(root, env, "--workers", "2")
    kills, last = 0, None
    while proc.poll() is None:
        worker = grading_worker(env["NN_TEST_TAG"], "slow", proc.pid)
        if worker is not None and worker != last:
            os.kill(worker, signal.SIGKILL)
            kills, last = kills + 1, worker
        time.sleep(0.2)
    out = proc.stdout.read()
    assert kills == 2, f"{kills} workers were killed grading it:\n{out[-3000:]}"
    assert "slow: it killed the worker grading it twice; not tried again" in out, out[-3000:]
    mine = snapshot(db_url_of(root, env))
    assert not any(student == "slow" for student, _ in mine)  # no grade for it, and no half a grade
    assert mine == {key: value for key, value in sequential.items() if key[0] != "slow"}
    assert wait_gone(env["NN_TEST_TAG"]) == []


def test_a_killed_coordinator_resumes_where_it_stopped(sequential, tmp_path):
    """Killing the coordinator mid-class and running it again: are only the rest graded, and the end the same?"""
    root, env = make_class(tmp_path / "course")
    proc = start(root, env, "--workers", "2")
    first = []
    for line in proc.stdout:
        first.append(line)
        if line.startswith("[4/"):
            proc.kill()
            break
    proc.wait()
    assert wait_gone(env["NN_TEST_TAG"], seconds=90) == []  # its workers notice and go
    done_before = {m.group(1) for m in re.finditer(r"^\[\d+/\d+\] (\S+) \.\.\. graded", "".join(first), re.M)}
    done_before.discard("renamed")  # no notebook to grade: recorded zero on every run, as one by one
    status, out = grade(root, env, "--workers", "2")
    regraded = {m.group(1) for m in re.finditer(r"^\[\d+/\d+\] (\S+) \.\.\. (?!skipped)", out, re.M)} - {"renamed"}
    assert done_before and not done_before & regraded, (done_before, regraded, out[-3000:])
    assert f"skipped (already autograded; use --force): {len(done_before)}" in out
    assert snapshot(db_url_of(root, env)) == sequential
    assert wait_gone(env["NN_TEST_TAG"]) == []


def test_two_assignments_share_one_queue(sequential, tmp_path):
    """Two assignments in one command on 2 local workers: is each submission graded as one by one?"""
    root, env = make_class(tmp_path / "course")
    again, chosen = ASSIGNMENT + "_again", ["bad_json", "late", "reference", "wrong"]
    shutil.copytree(os.path.join(root, "source", ASSIGNMENT), os.path.join(root, "source", again))
    publish(root, env, again)
    for student in chosen:
        submitted = os.path.join(root, "grader", "submitted", student)
        shutil.copytree(os.path.join(submitted, ASSIGNMENT), os.path.join(submitted, again))
    status, out = grade(root, env, again, "--workers", "2", *(f"--student={s}" for s in chosen))
    assert status == 1, out[-3000:]  # bad_json, twice
    assert re.search(rf"\[8/8\] {ASSIGNMENT}(_again)?/\S+ \.\.\. .* \| done 8, failed 2, left 0", out), out[-3000:]
    assert out.count("Summary for") == 2 and "grading on a local cluster" in out and out.count("grading on") == 1
    expected = {key: value for key, value in sequential.items() if key[0] in chosen}
    assert snapshot(db_url_of(root, env)) == expected
    assert snapshot(db_url_of(root, env), again) == expected
    assert wait_gone(env["NN_TEST_TAG"]) == []


def test_every_cluster_takes_the_course_dask_settings():
    """Do a local cluster's workers, and a process started with DASK_CONFIG as README says, use grader/dask?"""
    from grader.parallel import start_cluster

    client, cluster, _ = start_cluster(1)
    try:
        seen = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
        failures = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    finally:
        client.close()
        cluster.close()
    (callbacks,) = seen.values()
    assert "profile" not in callbacks and failures == 1, (callbacks, failures)
    keys = ["distributed.scheduler.allowed-failures", "distributed.worker.daemon",
            "distributed.worker.profile.enabled", "distributed.admin.tick.interval"]
    probe = subprocess.run([sys.executable, "-c", f"import dask; print([dask.config.get(k) for k in {keys}])"],
                           env=dict(os.environ, DASK_CONFIG=DASK_SETTINGS),
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[1, False, False, '500ms']", probe


def test_an_unreachable_postgresql_stops_every_grading_command(tmp_path):
    """Does a configured PostgreSQL that is down stop nbgrader and the class runner, never falling back to SQLite?"""
    root = make_scratch_course(tmp_path / "course", TOY_SOURCE)
    env = nbgrader_env()
    env["NN_COURSE_DB_URL"] = f"postgresql://grader@/nowhere?host={tmp_path}"
    for command in (["-m", "nbgrader", "autograde", ASSIGNMENT], ["-m", "nbgrader", "db", "student", "list"],
                    ["-m", "grader.autograde_class", ASSIGNMENT]):
        run = subprocess.run([sys.executable, *command], cwd=root, env=env, capture_output=True, text=True,
                             timeout=120)
        out = run.stdout + run.stderr
        assert run.returncode != 0, out[-2000:]
        assert "cannot be reached" in out and "never falls back to SQLite" in out, out[-2000:]
    assert not os.path.exists(os.path.join(root, "grader", "gradebook.db"))


def test_a_short_database_outage_loses_nothing(sequential, postgres, tmp_path):
    """Into a real PostgreSQL, down for a few seconds mid-class: are the writes retried and the grades as one by one?"""
    root, env = make_class(tmp_path / "course", postgres.create_database())
    proc = start(root, env, "--workers", "2")
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("[2/"):
            postgres.stop()
            time.sleep(4)
            postgres.start()
    proc.wait(timeout=600)
    out = "".join(lines)
    assert proc.returncode == 1, out[-3000:]
    assert f"gradebook: PostgreSQL {env['NN_COURSE_DB_URL']}" in out  # named first, and the one used
    assert snapshot(env["NN_COURSE_DB_URL"]) == sequential, out[-4000:]
    assert not os.path.exists(os.path.join(root, "grader", "gradebook.db"))  # no SQLite on the side
    assert wait_gone(env["NN_TEST_TAG"]) == []


def test_a_long_database_outage_stops_the_run_and_keeps_what_was_written(postgres, tmp_path):
    """PostgreSQL gone for good mid-class: does the run stop, say why, and leave the grades it wrote intact?"""
    root, env = make_class(tmp_path / "course", postgres.create_database())
    proc = start(root, env, "--workers", "2", "--db-patience", "3")
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("[2/"):
                before = snapshot(env["NN_COURSE_DB_URL"])
                postgres.stop()
        proc.wait(timeout=300)
    finally:
        if postgres.process is None:
            postgres.start()
    out = "".join(lines)
    assert proc.returncode == 2, out[-3000:]
    assert "was unreachable for 3 s" in out and "every grade written before is intact" in out, out[-3000:]
    after = snapshot(env["NN_COURSE_DB_URL"])
    assert {k: v for k, v in after.items() if k in before} == before and len(before) >= 2
    assert wait_gone(env["NN_TEST_TAG"]) == []




def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Machines:
    """A Dask scheduler and workers as separate processes on loopback, each worker in its own filesystem view.

    Each worker runs inside bubblewrap: the network is shared (loopback), but
    the instructor's course folder and this repository are empty folders to
    it; it sees Python and its own copy of the course package (`grader` and
    `utils`, as a worker machine would have it installed) in a folder of its
    own. Every process is stopped by its pid.
    """

    def __init__(self, base, env):
        self.base, self.env, self.processes = str(base), dict(env), []
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        scheduler_env = dict(env, DASK_CONFIG=DASK_SETTINGS)
        self._start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                     "--port", str(self.port), "--no-dashboard"], scheduler_env)

    def _start(self, command, env):
        log = open(os.path.join(self.base, f"process-{len(self.processes)}.log"), "w")
        self.processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def add_worker(self, hidden, stale=False):
        """Start a worker that cannot see the folders `hidden`; `stale` gives it an older course package."""
        own = os.path.join(self.base, f"worker-{len(self.processes)}")
        packages = os.path.join(own, "site")
        for name in ("grader", "utils"):
            shutil.copytree(os.path.join(REPO, name), os.path.join(packages, name),
                            ignore=shutil.ignore_patterns("__pycache__"))
        if stale:
            with open(os.path.join(packages, "utils", "__init__.py"), "a") as fh:
                fh.write("\n# an older release of the course package\n")
        venv = os.path.dirname(os.path.dirname(sys.executable))
        mask = []
        for folder in hidden:
            mask += ["--tmpfs", folder]
        command = ["bwrap", "--bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc",
                   *mask, "--ro-bind", venv, venv, "--bind", own, own,
                   "--cap-add", "ALL", "--die-with-parent", "--chdir", own, "--",
                   sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                   "--nworkers", "1", "--no-nanny", "--local-directory", os.path.join(own, "dask"),
                   "--death-timeout", "60"]
        env = dict(self.env, PYTHONPATH=packages, TMPDIR=own, DASK_CONFIG=os.path.join(packages, "grader", "dask"))
        self._start(command, env)
        return own

    def wait_for_workers(self, n, timeout=120):
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(n, timeout=timeout)
            return client.run(lambda: None)

    def stop(self):
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_two_machines_grade_into_postgresql_as_one_by_one(sequential, postgres, tmp_path):
    """A scheduler and two workers that cannot read the course: do they grade the class into PostgreSQL as one by one?"""
    root, env = make_class(tmp_path / "course", postgres.create_database())
    machines = Machines(tmp_path, env)
    try:
        for _ in range(2):
            machines.add_worker(hidden=[REPO, root])
        machines.wait_for_workers(2)
        from distributed import Client

        with Client(machines.address) as client:  # what a worker sees of the instructor's folders
            seen = client.run(lambda: (os.listdir(root), os.path.exists(os.path.join(REPO, "source"))))
        assert len(seen) == 2 and all(view == ([], False) for view in seen.values()), seen
        status, out = grade(root, env, "--scheduler", machines.address)
        assert status == 1, out[-3000:]
        assert f"grading on {machines.address}: 2 worker(s)" in out, out[-3000:]
        assert snapshot(env["NN_COURSE_DB_URL"]) == sequential, out[-4000:]
    finally:
        machines.stop()
    assert wait_gone(env["NN_TEST_TAG"]) == []


def test_a_worker_with_another_course_version_is_refused(postgres, tmp_path):
    """Is a worker whose course package differs refused before any grade, with both versions named?"""
    root, env = make_class(tmp_path / "course", postgres.create_database())
    machines = Machines(tmp_path, env)
    try:
        machines.add_worker(hidden=[REPO, root], stale=True)
        machines.wait_for_workers(1)
        status, out = grade(root, env, "--scheduler", machines.address)
    finally:
        machines.stop()
    assert status == 2, out[-3000:]
    assert "refusing workers whose course code differs from the coordinator's (utils " in out, out[-3000:]
    assert re.search(r"tcp://127\.0\.0\.1:\d+ runs utils [0-9a-f]{16}", out), out[-3000:]
    assert snapshot(env["NN_COURSE_DB_URL"]) == {}
    assert wait_gone(env["NN_TEST_TAG"]) == []
