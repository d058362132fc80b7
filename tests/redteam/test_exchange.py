"""Red team on the exchange: symlinks, forged times and planted submissions, through the real commands.

Students are Unix users here, as on a shared JupyterHub: the system accounts
daemon, bin and sys, which every Debian has. The test (root, like the grading
server's administrator) releases the toy assignment to an exchange, lets the
students' submissions appear in its inbound folder exactly as their own
`nbgrader submit` would leave them (owned by them), and collects and grades
with the course's commands. daemon submits honestly; bin submits links to the
instructor's files and a FIFO, and plants a later submission under daemon's
name; sys claims an earlier time than the server saw.
"""

import datetime
import os
import pwd
import shutil
import stat
import subprocess
import sys
import uuid

import pytest
from nbgrader.api import Gradebook, MissingEntry

from grader.course import course_directory, nbgrader_env
from tests.grading.course_copy import (
    TOY_SOURCE,
    gradebook_grades,
    make_scratch_course,
    nbgrader_ok,
    read_nb,
    write_nb,
)

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(os.geteuid() != 0, reason="plays three Unix users: needs root, as CI has")]
ASSIGNMENT, NOTEBOOK, COURSE = "00_toy", "toy", "neural-networks"
DUE = "2020-01-01 00:00:00 UTC"
FORGED = "2019-12-31 23:00:00.000000 UTC"  # before the due date


def ids(user):
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def own(path, user):
    uid, gid = ids(user)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)
    os.lchown(path, uid, gid)


def as_user(user, *command):
    uid, gid = ids(user)
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """Release, submit as three users, collect, autograde and make feedback; return what happened."""
    tmp = tmp_path_factory.mktemp("exchange")
    root = make_scratch_course(tmp / "course", TOY_SOURCE)
    nbgrader_ok(root, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader_ok(root, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    shared = f"/tmp/nbg-exchange-test-{uuid.uuid4().hex}"  # students must reach it: not under a 0700 folder
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    flag = f"--Exchange.root={shared}"
    nbgrader_ok(root, "release_assignment", ASSIGNMENT, flag)
    inbound = os.path.join(shared, COURSE, "inbound")
    canary = os.path.join(tmp, "root-only.txt")  # a host file only root may read
    with open(canary, "w") as fh:
        fh.write("CANARY-" + uuid.uuid4().hex)
    os.chmod(canary, 0o600)

    # daemon: a real `nbgrader submit`, with the course's SafeSubmit, of the reference solution
    home = tmp / "daemon-home"
    home.mkdir()
    student_flags = [f"--course={COURSE}", flag, "--Exchange.path_includes_course=False"]
    run = subprocess.run([sys.executable, "-m", "nbgrader", "fetch_assignment", ASSIGNMENT, *student_flags],
                         cwd=home, env=nbgrader_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    shutil.copy(os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"), home / ASSIGNMENT)
    run = subprocess.run([sys.executable, "-m", "nbgrader", "submit", ASSIGNMENT, *student_flags,
                          "--CourseDirectory.student_id=daemon",
                          "--ExchangeFactory.submit=grader.exchange.SafeSubmit"],
                         cwd=home, env=nbgrader_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    (daemon_folder,) = os.listdir(inbound)
    own(os.path.join(inbound, daemon_folder), "daemon")

    release = read_nb(os.path.join(root, "release", ASSIGNMENT, NOTEBOOK + ".ipynb"))

    def plant(owner, name, timestamp=None):
        folder = os.path.join(inbound, name)
        write_nb(release, folder, NOTEBOOK)
        if timestamp:
            with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
                fh.write(timestamp)
        return folder

    # bin: links to the instructor's solution, the gradebook and a root-only file, a FIFO
    attack = plant("bin", f"bin+{ASSIGNMENT}+{FORGED}+aaaa")
    os.remove(os.path.join(attack, NOTEBOOK + ".ipynb"))
    os.symlink(os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"), os.path.join(attack, NOTEBOOK + ".ipynb"))
    os.symlink(os.path.join(root, "grader", "gradebook.db"), os.path.join(attack, "gradebook.db"))
    os.symlink(canary, os.path.join(attack, "notes.txt"))
    os.mkfifo(os.path.join(attack, "pipe"))
    own(attack, "bin")
    # bin again: a later "submission" under daemon's name (the release, unanswered)
    own(plant("bin", f"daemon+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC+zzzz"), "bin")
    # sys: the reference solution, claiming a time before the due date
    before_sys = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=2)
    forged = plant("sys", f"sys+{ASSIGNMENT}+{FORGED}+bbbb", FORGED)
    shutil.copy(os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"), forged)
    own(forged, "sys")

    reads = {"list inbound": as_user("bin", "ls", inbound),
             "read daemon's": as_user("bin", "cat", os.path.join(inbound, daemon_folder, NOTEBOOK + ".ipynb"))}
    collect = subprocess.run([sys.executable, "-m", "nbgrader", "collect", ASSIGNMENT, flag], cwd=root,
                             env=nbgrader_env(), capture_output=True, text=True, timeout=300)
    # eve: a link put straight into submitted/ (say, by a careless copy), past collect
    eve = os.path.join(root, "grader", "submitted", "eve", ASSIGNMENT)
    os.makedirs(eve)
    os.symlink(os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"), os.path.join(eve, NOTEBOOK + ".ipynb"))
    write_nb(release, os.path.join(root, "grader", "submitted", "untouched", ASSIGNMENT), NOTEBOOK)
    autograde = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=root,
                               env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    feedback = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force"],
                              cwd=root, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    yield {"root": root, "inbound": inbound, "canary": open(canary).read(), "collect": collect,
           "autograde": autograde, "feedback": feedback, "reads": reads, "before_sys": before_sys}
    shutil.rmtree(shared, ignore_errors=True)


def scores(exchange, student):
    """A student's auto score; nbgrader records no submission for a folder without a notebook."""
    try:
        grades = gradebook_grades(exchange["root"], ASSIGNMENT, student)[NOTEBOOK]
    except MissingEntry:
        return 0
    return sum(g[0] or 0 for g in grades.values())


def test_collect_refuses_every_trick_loudly(exchange):
    """Does collect name each planted link, the FIFO and the folder under daemon's name, and exit 1?"""
    out = exchange["collect"].stdout + exchange["collect"].stderr
    assert exchange["collect"].returncode == 1, out
    for trick in ["aaaa/toy.ipynb: a symbolic link", "aaaa/gradebook.db: a symbolic link",
                  "aaaa/notes.txt: a symbolic link", "aaaa/pipe: a FIFO",
                  "zzzz: is named for daemon but belongs to bin"]:
        assert trick in out, (trick, out[-3000:])


def test_the_planted_submission_does_not_replace_the_real_one(exchange):
    """Is daemon's own submission collected and graded in full, not the one bin planted under daemon's name?"""
    assert scores(exchange, "daemon") == 7  # the reference's autograded points


def test_links_are_never_followed(exchange):
    """Does bin get no notebook (it was a link to the solution), and no copy of what the links point to?"""
    submitted = os.path.join(exchange["root"], "grader", "submitted", "bin", ASSIGNMENT)
    assert sorted(os.listdir(submitted)) == ["timestamp.txt"]
    assert scores(exchange, "bin") <= scores(exchange, "untouched") == 0


def test_no_copy_of_a_secret_anywhere_the_grader_wrote(exchange):
    """Is the root-only file's content nowhere under grader/, feedback included, and never world-readable?"""
    grader = os.path.join(exchange["root"], "grader")
    for folder, _, files in os.walk(grader):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            with open(path, "rb") as fh:
                assert exchange["canary"].encode() not in fh.read(), path


def test_times_come_from_the_server(exchange):
    """Is sys's submission dated when the server saw it, not at the earlier time sys claimed, and so late?"""
    coursedir = course_directory(exchange["root"])
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        submission = gb.find_submission(ASSIGNMENT, "sys")
        stamp = submission.timestamp.replace(tzinfo=datetime.UTC)
        assert stamp >= exchange["before_sys"], stamp
        assert submission.total_seconds_late > 365 * 86400


def test_students_cannot_read_each_others_submissions(exchange):
    """As bin, can one neither list the inbound folder nor read daemon's submission, even knowing its name?"""
    for what, run in exchange["reads"].items():
        assert run.returncode != 0 and "Permission denied" in run.stderr, (what, run.stdout, run.stderr)
    assert stat.S_IMODE(os.stat(exchange["inbound"]).st_mode) == 0o3733


def test_autograde_moves_a_linked_file_aside_before_reading_it(exchange):
    """Does a link put straight into submitted/ go to the quarantine, with the reason, and score nothing?"""
    assert "REFUSED eve/00_toy/toy.ipynb: a symbolic link" in exchange["autograde"].stderr
    kept = os.path.join(exchange["root"], "grader", "quarantine", "eve", ASSIGNMENT)
    assert os.path.islink(os.path.join(kept, NOTEBOOK + ".ipynb"))
    assert "a symbolic link" in open(os.path.join(kept, "REFUSED.txt")).read()
    assert scores(exchange, "eve") == 0
    assert exchange["feedback"].returncode == 0, exchange["feedback"].stderr[-2000:]
