"""Red-team suite: hostile submissions graded with the real `nbgrader autograde`.

One submission per attack class of the threat model (tests/redteam/attacks.py),
each built from the untouched release of the toy assignment, all graded in one
plain `nbgrader autograde 00_toy` run with the course configuration, beside
honest submissions. For every attack it asserts that the submission
* scores no more than the untouched release;
* read no secret (canary files in source/, grader/, the exchange, the grader's
  home, another student's submission; the hidden tests in the gradebook);
* wrote nothing outside its scratch folder;
* reached no socket (a TCP and a TCP6 listener on loopback and a Unix socket,
  all owned by this test);
* was refused memory beyond the cap;
and that every honest submission beside it is graded exactly as without it.
"""

import copy
import glob
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import uuid

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import course_directory, nbgrader_env
from tests.grading.course_copy import (
    TOY_SOURCE,
    autograde_both_ways,
    grade_id,
    make_scratch_course,
    processes_with,
    read_nb,
    write_nb,
)
from tests.redteam.attacks import (
    APPENDED,
    ATTACKS,
    FORGED_CELL,
    MARKER_CELLS,
    PROBE,
    RIGGED,
    SHADOW_FILES,
)

pytestmark = pytest.mark.grading
ASSIGNMENT, NOTEBOOK = "00_toy", "toy"
HONEST = ("honest_right", "honest_wrong")
MARKERS = ("LEAK ", "WROTE", "CONNECTED", "ALLOCATED", "FORKED 300", "SOCKET CREATED")


class Listener:
    """A listening socket owned by the test; counts the connections it receives."""

    def __init__(self, family, address):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(16)
        self.address = self.sock.getsockname()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def _autograde(root, env, *args):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )


def _scores(root):
    """Return {student: {grade_id: auto_score}} from the gradebook, through nbgrader's API."""
    coursedir = course_directory(root)
    scores = {}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            scores[submission.student_id] = {
                g.name: g.auto_score or 0 for nb in submission.notebooks for g in nb.grades
            }
    return scores


def _tree(folder):
    """Return {relative path: (size, mtime)} of every file under `folder`."""
    found = {}
    for base, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            found[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the honest baseline, then every attack beside the honest submissions."""
    tmp = tmp_path_factory.mktemp("redteam")
    root = make_scratch_course(tmp / "course", TOY_SOURCE)
    token = "CANARY-" + uuid.uuid4().hex  # only in the secret files
    tag = uuid.uuid4().hex  # in the paths the attacks try to write
    home = tmp / "home"
    home.mkdir()
    env = nbgrader_env()
    env["HOME"] = str(home)
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT,
                          "--force"], cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # source/<assignment>/ files other than notebooks are copied beside every
    # submission by nbgrader itself (data files), so the canary sits in source/
    secrets = [os.path.join(root, "source", "canary.txt"),
               os.path.join(root, "grader", "canary.txt"),
               os.path.join(root, "grader", "exchange", "canary.txt"),
               os.path.join(home, "canary.txt"),
               os.path.join(root, "grader", "submitted", HONEST[0], ASSIGNMENT, "canary.txt")]
    source = read_nb(os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    release = read_nb(os.path.join(root, "release", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    submitted = os.path.join(root, "grader", "submitted", "{}", ASSIGNMENT)
    write_nb(source, submitted.format(HONEST[0]), NOTEBOOK)
    wrong = copy.deepcopy(source)
    next(c for c in wrong.cells if grade_id(c) == "predict").source = (
        "def predict(w, b, X):\n    return (X @ w + b > 0.5).astype(int)\n")
    write_nb(wrong, submitted.format(HONEST[1]), NOTEBOOK)
    write_nb(release, submitted.format("untouched"), NOTEBOOK)
    for path in secrets:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(token)
    baseline = _autograde(root, env)
    assert baseline.returncode == 0, baseline.stderr
    before = _scores(root)

    tcp = Listener(socket.AF_INET, ("127.0.0.1", 0))
    tcp6 = Listener(socket.AF_INET6, ("::1", 0))
    unix_path = str(tmp / "redteam.sock")
    unix = Listener(socket.AF_UNIX, unix_path)
    writes = [str(tmp / f"PWNED-{tag}"), os.path.join(root, "PWNED"),
              os.path.join(root, "grader", "PWNED"), os.path.join(home, "PWNED"),
              f"/tmp/PWNED-{tag}", os.path.join(root, "source", ASSIGNMENT, "PWNED")]
    targets = json.dumps({"secrets": secrets, "writes": writes, "tcp": tcp.address[1],
                          "tcp6": tcp6.address[1], "unix": unix_path,
                          "gradebook": os.path.join(root, "grader", "gradebook.db")})
    probe = PROBE.format(targets=targets)
    for student, code in ATTACKS.items():
        nb = copy.deepcopy(release)
        marker = f'print("REDTEAM-RAN {student}", flush=True)\n'
        next(c for c in nb.cells if grade_id(c) == "sigmoid").source = marker + probe + code
        if student == "deep_expression":  # the grader's markers in a student's own cells
            at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "sigmoid") + 1
            for kind, text in MARKER_CELLS:
                cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(text)
                nb.cells.insert(at, cell)
        if student in APPENDED:
            nb.cells.append(nbformat.v4.new_code_cell(APPENDED[student]))
        if student == "edit_cells":  # delete one test, rewrite another to pass
            nb.cells = [c for c in nb.cells if grade_id(c) != "test_predict"]
            next(c for c in nb.cells if grade_id(c) == "test_sigmoid").source = "pass\n"
            next(c for c in nb.cells if grade_id(c) == "test_sigmoid").metadata["nbgrader"][
                "locked"] = False
        if student == "forged_cells":  # before each test: a "test" and a "locked" cell
            for index, kind in [(i, k) for i, c in enumerate(nb.cells) for k in ("test", "locked")
                                if grade_id(c) == "test_sigmoid"][::-1]:
                forged = nbformat.v4.new_code_cell(probe + FORGED_CELL)
                forged.metadata["nbgrader"] = {
                    "grade": kind == "test", "grade_id": f"forged_{kind}_{index}",
                    "locked": True, "points": 1, "schema_version": 3, "solution": False,
                    "task": False}
                nb.cells.insert(index, forged)
        folder = submitted.format(student)
        write_nb(nb, folder, NOTEBOOK)
        if student == "shadow_modules":
            for name, text in SHADOW_FILES.items():
                os.makedirs(os.path.join(folder, os.path.dirname(name)), exist_ok=True)
                with open(os.path.join(folder, name), "w") as fh:
                    fh.write(text)
    tree_before = {d: _tree(os.path.join(root, d)) for d in ("source", "release")}
    tree_before["submitted"] = _tree(os.path.join(root, "grader", "submitted"))
    start = time.monotonic()
    result = _autograde(root, env)
    seconds = time.monotonic() - start
    largest_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # bytes, of any child
    feedback_run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force"],
                                  cwd=root, env=env, capture_output=True, text=True, timeout=600)
    time.sleep(6)  # the daemon attack would rewrite the gradebook 4 s after its kernel
    survivors = processes_with(tag)
    for pid in survivors:  # ours to clean up: started by this test's submissions
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    tree_after = {d: _tree(os.path.join(root, d)) for d in ("source", "release")}
    tree_after["submitted"] = _tree(os.path.join(root, "grader", "submitted"))
    autograded = {}
    for student in list(ATTACKS) + list(HONEST) + ["untouched"]:
        path = os.path.join(root, "grader", "autograded", student, ASSIGNMENT, NOTEBOOK + ".ipynb")
        autograded[student] = read_nb(path) if os.path.exists(path) else None
    feedback = {}
    for path in glob.glob(os.path.join(root, "grader", "feedback", "*", ASSIGNMENT, NOTEBOOK + ".html")):
        with open(path) as fh:
            feedback[path.split(os.sep)[-3]] = fh.read()
    yield {
        "root": root, "token": token, "result": result, "seconds": seconds,
        "feedback_run": feedback_run, "feedback": feedback, "largest_rss": largest_rss,
        "before": before, "after": _scores(root), "autograded": autograded,
        "writes": writes, "survivors": survivors, "trees": (tree_before, tree_after),
        "connections": tcp.connections + tcp6.connections + unix.connections,
    }
    for listener in (tcp, tcp6, unix):
        listener.sock.close()


def test_the_run_grades_every_submission(graded):
    """Does one plain autograde run grade all attacks and honest submissions?"""
    result = graded["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    for student, nb in graded["autograded"].items():
        assert nb is not None, f"{student} was not graded"
    assert "GRADEBOOK INTEGRITY PROBLEMS" not in result.stderr
    assert "gradebook integrity: OK" in result.stderr
    print(f"red-team autograde run: {graded['seconds']:.1f} s")


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_scores_no_more_than_the_release(graded, student):
    """Does the attack score no more than the untouched release, its control?"""
    untouched = sum(graded["after"]["untouched"].values())
    assert sum(graded["after"][student].values()) <= untouched, graded["after"][student]


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_read_no_secret(graded, student):
    """Does no canary, no leaked marker and no hidden test reach the attack's outputs?"""
    text = json.dumps([c.get("outputs", []) for c in graded["autograded"][student].cells])
    assert graded["token"] not in text
    assert "LEAK " not in text
    assert "sigmoid should saturate" not in text  # a hidden test, stored in the gradebook


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_wrote_nothing_outside_its_scratch(graded, student):
    """Did the attack write nothing outside its scratch: no gradebook, no file in source/ or release/?"""
    text = json.dumps([c.get("outputs", []) for c in graded["autograded"][student].cells])
    assert "WROTE gradebook" not in text
    assert not [p for p in graded["writes"] if os.path.exists(p)]
    before, after = graded["trees"]
    assert before == after


def test_no_process_outlives_its_notebook(graded):
    """Is every process an attack started gone once the run ends?"""
    assert graded["survivors"] == []


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_reached_no_socket(graded, student):
    """Did the attack reach none of the test's TCP, TCP6 and Unix listeners?"""
    text = json.dumps([c.get("outputs", []) for c in graded["autograded"][student].cells])
    assert "CONNECTED" not in text
    assert graded["connections"] == 0


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_was_refused_memory_beyond_the_cap(graded, student):
    """Was the attack refused 3 GiB of memory?"""
    text = json.dumps([c.get("outputs", []) for c in graded["autograded"][student].cells])
    assert "ALLOCATED" not in text


def test_memory_refusal_is_recorded_with_its_reason(graded):
    """Is the memory bomb's refusal recorded, naming the limit and the cell?"""
    meta = graded["autograded"]["memory_bomb"].metadata.get("grader", {})
    assert "memory limit of 2 GiB reached in cell `sigmoid`" in meta.get("refusals", [])


def test_output_flood_is_capped_and_recorded(graded):
    """Is a 40 MB print capped, and the refusal recorded?"""
    nb = graded["autograded"]["output_flood"]
    assert len(json.dumps([c.get("outputs", []) for c in nb.cells])) < 12 * 2**20
    assert any(r.startswith("output limit of") for r in nb.metadata["grader"]["refusals"])


def test_fork_bomb_is_refused(graded):
    """Is a fork bomb refused new processes?"""
    text = json.dumps([c.get("outputs", []) for c in graded["autograded"]["fork_bomb"].cells])
    assert "fork refused after" in text


def test_killed_kernel_is_recorded(graded):
    """Is a kernel that killed itself recorded as an incident in its cell?"""
    meta = graded["autograded"]["kill_kernel"].metadata["grader"]
    assert "sigmoid" in meta["incident"]


@pytest.mark.parametrize("student", HONEST + ("untouched",))
def test_honest_submissions_are_graded_as_without_attacks(graded, student):
    """Is every honest submission graded exactly as in a run without attacks?"""
    assert graded["after"][student] == graded["before"][student]


def test_honest_baseline_is_what_it_should_be(graded):
    """Do the honest baselines score 7 and 4, and the untouched release 0?"""
    right, wrong = (sum(graded["before"][s].values()) for s in HONEST)
    assert right == 7 and wrong == 4
    assert sum(graded["before"]["untouched"].values()) == 0



@pytest.fixture(scope="module", params=sorted(RIGGED))
def rigged(request, tmp_path_factory):
    """Grade a rigged course submission with trusted verdicts off and on, side by side."""
    assignment, attack = request.param, RIGGED[request.param]
    root = make_scratch_course(tmp_path_factory.mktemp("rigged") / "course")
    env = nbgrader_env()
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                          "--force"], cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    release = read_nb(os.path.join(root, "release", assignment, attack["notebook"] + ".ipynb"))
    for cell in release.cells:
        if grade_id(cell) in attack["cells"]:
            cell.source = attack["cells"][grade_id(cell)]
    folder = os.path.join(root, "grader", "submitted", "rigged", assignment)
    write_nb(release, folder, attack["notebook"])
    scores = {}
    for verdicts, where in autograde_both_ways(root, assignment, env).items():
        coursedir = course_directory(where)
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            nb = gb.find_submission(assignment, "rigged").notebooks[0]
            scores[verdicts] = {g.name: (g.auto_score or 0, g.max_score) for g in nb.grades}
    return attack["tests"], scores


def test_rigged_course_answers_pass_only_when_the_kernel_is_trusted(rigged):
    """Rebound checks and helpers, patched numpy, a network that overrides its methods.

    Each rigged test passes when the kernel's outputs are trusted (so the attack
    is real) and scores zero with trusted verdicts.
    """
    tests, scores = rigged
    for test in tests:
        score, top = scores[False][test]
        assert score == top, f"the attack on {test} should succeed without trusted verdicts"
        assert scores[True][test][0] == 0, (test, scores[True])


def _text(graded, student):
    return json.dumps([c.get("outputs", []) for c in graded["autograded"][student].cells])


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_really_ran(graded, student):
    """Is the attack's marker in its autograded notebook, so that its other checks cannot pass vacuously?"""
    assert f"REDTEAM-RAN {student}" in _text(graded, student)


def test_feedback_is_generated_for_every_submission(graded):
    """Does generate_feedback succeed for all, whatever markers or nesting a student's cells hold?"""
    assert graded["feedback_run"].returncode == 0, graded["feedback_run"].stderr[-3000:]
    assert set(graded["feedback"]) >= set(ATTACKS) | set(HONEST)


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_feedback_shows_no_hidden_test(graded, student):
    """Does no attack's feedback hold a hidden test's source or a secret?"""
    page = graded["feedback"][student]
    assert "sigmoid should saturate" not in page and graded["token"] not in page


def test_the_kernels_folder_holds_no_notebook(graded):
    """Does the kernel find no notebook beside it, neither the autograded one nor the submission?"""
    line = next(line for line in _text(graded, "peek_notebook").split("\\n") if "REDTEAM-RAN peek_notebook " in line)
    assert ".ipynb" not in line, line


def test_what_student_code_logged_of_the_grader_stays_out_of_the_feedback(graded):
    """Does a logging input transformer see only calls and student names, and its log stay out of the feedback?"""
    text = _text(graded, "transformer")
    assert "LOGGED" in text and "__nbg_agent" in text  # the transformer saw the grader's code
    assert "saturate" not in text and "allclose" not in text  # but never a test's source
    assert "__nbg_agent" not in graded["feedback"]["transformer"]  # the log, printed at the end


def test_every_writable_path_is_capped(graded):
    """Is every place a kernel can write a capped tmpfs: 1 MiB for sockets and /dev/shm, 512 MiB elsewhere?"""
    written = {}
    for line in _text(graded, "disk_fill").split("\\n"):
        if "REDTEAM-RAN disk_fill " in line:
            _, _, path, mib, _ = line.split("REDTEAM-RAN")[1].split(" ")[:5]
            written[path] = int(mib)
    assert set(written) == {"/run/kernel", "/dev/shm", "/tmp", ".", "/tmp/home"}, written
    assert written["/run/kernel"] <= 1 and written["/dev/shm"] <= 1
    assert all(mib <= 512 for mib in written.values()), written


def test_widget_messages_count_toward_the_output_cap(graded):
    """Is a 300 MB flood of widget messages capped: a small autograded notebook, nbgrader under 1 GiB?"""
    path = os.path.join(graded["root"], "grader", "autograded", "widget_flood", ASSIGNMENT, NOTEBOOK + ".ipynb")
    assert os.path.getsize(path) < 12 * 2**20
    assert any(r.startswith("output limit of") for r in graded["autograded"]["widget_flood"].metadata["grader"]["refusals"])
    assert graded["largest_rss"] < 2**30, f"a grading process used {graded['largest_rss'] >> 20} MiB"


@pytest.mark.parametrize("student", ["forged_reply", "deep_reply"])
def test_protocol_tricks_fail_the_test_without_hanging(graded, student):
    """Do forged replies, a forged callback and a 100000-deep answer fail test_sigmoid, with the run finished?"""
    assert graded["after"][student]["test_sigmoid"] == 0
    assert graded["seconds"] < 600


def test_only_the_socket_families_the_kernel_needs_exist(graded):
    """Are VSOCK, netlink audit and uevent, packet and Bluetooth sockets all refused in the kernel?"""
    text = _text(graded, "sockets")
    assert text.count("REDTEAM-RAN sockets refused") == 5 and "SOCKET CREATED" not in text
