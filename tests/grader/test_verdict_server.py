"""The warm verdict-worker server: forked workers decide as started ones, and nothing outlives its grader."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from grader import scratch, verdicts, wire

SETUP = "import warnings\nimport numpy as np\nfrom utils import checks"
TEST = textwrap.dedent("""\
    X = np.arange(6.0).reshape(3, 2)          # (N, D)
    print("column sums", X.sum(axis=0))
    checks.assert_matches(X.mean(axis=1), np.array([0.5, 2.5, 4.5]), "row means")
    assert np.all(X >= 1), "every entry at least 1"
""")


def send(worker, *msgs):
    """Send messages to a worker (a Popen or a ForkedWorker)."""
    for msg in msgs:
        worker.stdin.write((wire.dumps(msg) + "\n").encode())
    worker.stdin.flush()


def keep_busy(worker):
    """Start a test in `worker` that runs for ten minutes."""
    send(worker, wire.message("setup", code="import time"),
         wire.message("test", code="time.sleep(600)", cells=[], fetch=[], deny=[], forget=[], hidden=False))


def exchange(worker, msg, *ops):
    """Send `msg` to a worker and return its next message, one of `ops`."""
    send(worker, msg)
    line, deadline = b"", time.monotonic() + 60
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([worker.stdout.fileno()], [], [], max(0, deadline - time.monotonic()))
        assert ready, f"expected a {'/'.join(ops)} message within 60 s, got {line!r}"
        chunk = os.read(worker.stdout.fileno(), 1 << 20)
        assert chunk, f"the worker stopped before answering {msg['op']}"
        line += chunk
    return wire.loads(line, *ops)


def verdict_of(worker):
    assert exchange(worker, wire.message("setup", code=SETUP), "ready") == {"op": "ready"}
    test = wire.message("test", code=TEST, cells=[], fetch=[], deny=[], forget=[], hidden=False)
    return exchange(worker, test, "verdict")


def gone(pid, seconds=10):
    """Wait until process `pid` no longer exists; return whether it went."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def server():
    """This process's warm server, stopped (and its workers killed) afterwards."""
    started = verdicts.start_server()
    assert started is not None, "expected the warm server to start"
    yield started
    verdicts.stop_server()


@pytest.fixture
def folder():
    made = scratch.make("nbg-verdict-")
    yield made
    scratch.remove(made)


def test_a_forked_worker_decides_as_a_started_one(server, folder):
    """Does a worker forked from the server give the same verdict, message for message, as a fresh one?"""
    started = verdicts.started_worker(folder)
    forked = verdicts.new_worker(folder, SETUP.splitlines())
    assert isinstance(forked, verdicts.ForkedWorker)
    try:
        mine, theirs = verdict_of(forked), verdict_of(started)
    finally:
        for worker in (forked, started):
            worker.kill()
            worker.wait(timeout=5)
    assert mine == theirs
    assert mine["ok"] is False and "every entry at least 1" in mine["evalue"]
    assert "column sums [6. 9.]" in mine["stdout"]


def test_a_line_that_is_not_an_import_is_never_run_by_the_server(server, folder):
    """Does a request carrying code beside its imports leave no trace of that code?"""
    planted = os.path.join(folder, "planted")
    plant = f"open({planted!r}, 'w').close()"
    worker = verdicts.ForkedWorker(folder, ["import json", plant, f"import os; {plant}", f"import os\n{plant}",
                                            f"x = __import__('os') or {plant}", "import ("])
    worker.kill()
    worker.wait(timeout=5)
    assert not os.path.exists(planted)


def test_stopping_the_server_kills_every_worker_it_forked(server, folder):
    """Does stop_server end the server and a worker still running a test?"""
    worker = verdicts.ForkedWorker(folder, [])
    keep_busy(worker)
    verdicts.stop_server()
    assert gone(server.pid) and gone(worker.pid), "expected the server and its busy worker gone"
    fallback = verdicts.new_worker(folder, [])
    fallback.kill()
    fallback.wait()
    assert isinstance(fallback, subprocess.Popen)  # no server: a worker started afresh


def test_a_grader_killed_outright_takes_its_server_and_workers_with_it(folder):
    """Do the server and a busy worker go when the process that started them gets SIGKILL?"""
    script = textwrap.dedent(f"""\
        from grader import verdicts
        from tests.grader.test_verdict_server import keep_busy
        server = verdicts.start_server()
        worker = verdicts.ForkedWorker({folder!r}, [])
        keep_busy(worker)
        print(server.pid, worker.pid, flush=True)
        import time
        time.sleep(600)
    """)
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        server_pid, worker_pid = map(int, grader.stdout.readline().split())
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    assert gone(server_pid) and gone(worker_pid), "expected the server and its busy worker gone"
