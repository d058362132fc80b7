"""The grader's pure parts that decide a grade or a confinement: fast, without nbgrader runs.

The late penalty's arithmetic, the sandbox's bubblewrap argument list, the
words for a kernel's death and for a failed submission. The grading suites
check the same things end to end, in minutes; these say in a second which
rule broke.
"""

import logging
import os
import signal

import pytest

from grader import autograde_class, plugins, sandbox

DAY = 86400


@pytest.fixture
def penalty():
    plugin = plugins.PerDayLatePenalty(percent_per_day=10.0, grace_minutes=15.0)
    plugin.log = logging.getLogger("test")
    return plugin.late_submission_penalty


@pytest.mark.parametrize("seconds_late, deducted", [
    (-3600, 0.0),                 # early
    (0, 0.0),                     # on the deadline
    (15 * 60, 0.0),               # the last second of the grace period
    (15 * 60 + 1, 2.0),           # one second past it: a started day
    (DAY + 15 * 60, 2.0),         # one whole day after the grace period
    (DAY + 15 * 60 + 1, 4.0),     # the second day has started
    (2 * DAY + 60, 4.0),          # two days and a minute: still two days after the grace
    (2 * DAY + 16 * 60, 6.0),     # two days and a minute after the grace: three started days
    (30 * DAY, 20.0),             # never more than the score
])
def test_late_penalty_is_ten_percent_per_started_day_after_the_grace(penalty, seconds_late, deducted):
    """Does a score of 20 lose 10 % per started day after 15 minutes, and never more than 20?"""
    assert penalty("student", 20.0, seconds_late) == pytest.approx(deducted)


def test_no_score_no_penalty(penalty):
    """Does a late notebook that scored nothing lose nothing?"""
    assert penalty("student", 0.0, 5 * DAY) == 0.0


@pytest.fixture
def argv(tmp_path):
    """The confined kernel's full command line, as the kernel manager builds it."""
    km = sandbox.SandboxKernelManager()
    rundir = tmp_path / "run"
    (rundir / "files").mkdir(parents=True)
    km._sbx_rundir, km._sbx_cwd = str(rundir), str(tmp_path / "course" / "autograded" / "s" / "a")
    km.connection_file = str(rundir / "kernel.json")
    return km, km.wrap(["python", "-m", "ipykernel_launcher", "-f", "kernel.json"])


def test_sandbox_shares_no_namespace_but_the_filesystem_it_binds(argv):
    """Does the kernel get its own network, pids, IPC and session, a seccomp filter, and die with its parent?"""
    _, args = argv
    for flag in ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--new-session",
                 "--die-with-parent", "--clearenv", "--seccomp"]:
        assert flag in args, flag


def test_every_writable_mount_is_a_capped_tmpfs(argv):
    """Is every place the kernel can write a tmpfs with a size, and every bound host path read-only?"""
    km, args = argv
    bwrap = args[: args.index("--")]
    for i, arg in enumerate(bwrap):
        if arg == "--tmpfs":
            assert bwrap[i - 2] == "--size", f"tmpfs {bwrap[i + 1]} has no size"
            assert int(bwrap[i - 1]) <= km.scratch_size
        assert arg not in ("--bind", "--bind-try", "--dev-bind"), f"a writable bind: {bwrap[i:i + 3]}"


def test_the_kernel_sees_no_course_file(argv):
    """Is nothing of the course bound in: no source/, no gradebook, no grader/, only the submission's copy?"""
    km, args = argv
    course = os.path.dirname(os.path.dirname(os.path.dirname(km._sbx_cwd)))
    bound = [args[i + 1] for i, arg in enumerate(args) if arg in ("--ro-bind", "--ro-bind-try")]
    assert not [path for path in bound if path.startswith(course)]
    assert os.path.join(km._sbx_rundir, "files") in bound


def test_resource_caps_are_on_the_command(argv):
    """Are memory, CPU time, processes, file size, open files and core dumps capped by prlimit?"""
    km, args = argv
    caps = args[args.index("/usr/bin/prlimit") + 1:]
    for cap in [f"--as={km.memory_limit}", f"--nproc={km.max_processes}", f"--fsize={km.max_file_size}",
                f"--nofile={km.max_open_files}", "--core=0"]:
        assert cap in caps, cap
    if os.geteuid() == 0:
        assert f"--reuid={km.sandbox_uid}" in args, "as root the kernel must drop to an unprivileged uid"


@pytest.mark.parametrize("sig, words", [
    (signal.SIGXCPU, "CPU-time limit of 600 s reached in cell `c`"),
    (signal.SIGKILL, "killed in cell `c` (CPU hard limit of 605 s, or out of memory)"),
    (signal.SIGXFSZ, "file-size limit of 64 MiB reached in cell `c`"),
    (signal.SIGSEGV, "crashed (SIGSEGV) in cell `c`; possibly the memory limit of 2 GiB"),
    (signal.SIGTERM, "the kernel died from SIGTERM in cell `c`"),
])
def test_a_kernels_death_is_put_in_words(sig, words):
    """Does each way a confined kernel dies get a reason that names the limit and the cell?"""
    class Ended:
        returncode = -sig

        def wait(self, timeout):
            return -sig

    km = sandbox.SandboxKernelManager()
    km.provisioner = type("Provisioner", (), {"process": Ended()})()
    assert words in km.death_reason("c")


@pytest.mark.parametrize("log, reason", [
    ("...\nnbformat.reader.NotJSONError: Notebook does not appear to be JSON\n"
     "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n",
     "a notebook is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ("[AutogradeApp | ERROR] kernel became unresponsive\n",
     "the kernel became unresponsive and could not be interrupted"),
    ("Traceback (most recent call last):\n  ...\nKeyError: 'x'\nValueError: bad cell\n", "ValueError: bad cell"),
    ("[AutogradeApp | ERROR] There was an error processing assignment: a\n",
     "There was an error processing assignment: a"),
    ("", "nbgrader failed; see the log"),
])
def test_a_failed_submission_gets_one_line_that_says_why(log, reason):
    """Does the class runner's summary turn an nbgrader log into the one line an instructor reads?"""
    assert autograde_class._failure_reason(log) == reason
