"""Red team: the class runner's warm verdict-worker server is out of every student's reach.

The class runner forks each notebook's verdict worker from one server that
runs outside the sandbox (grader/verdicts.py, start_server) and listens on a
Unix socket in the runner's temporary folder. A student who finds that socket
could ask the server to run code. This submission hunts for it where it is, in
the runner's TMPDIR, and everywhere a kernel can look.
"""

import glob
import json
import os
import subprocess
import sys
import time

import pytest

from tests.grading.course_copy import read_nb
from tests.redteam.test_stop import ASSIGNMENT, NOTEBOOK, QUICK, course, submit  # noqa: F401 -- a fixture

pytestmark = pytest.mark.grading

HUNT = '''print("REDTEAM-RAN warm_server", flush=True)
import glob, os, socket, sys
found = set(glob.glob({tmpdir!r} + "/nbg-verdict-*/*") + glob.glob("/tmp/nbg-verdict-*/*"))
for line in open("/proc/net/unix").read().splitlines()[1:]:
    if "nbg-verdict" in line:
        found.add(line.split()[-1])
for folder, _, names in os.walk("/"):
    if folder.startswith(("/proc", "/sys", "/usr", sys.prefix)):
        continue
    found.update(os.path.join(folder, n) for n in names if "nbg-verdict" in os.path.join(folder, n))
print("REDTEAM-RAN warm_server found", len(found), sorted(found)[:5])
for path in found:
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(2)
        c.connect(path)
        c.sendall(b'{{"cwd": "/tmp", "imports": ["import os"]}}\\n')
        print("CO" "NNECTED", path, c.recv(100))
    except OSError as error:
        print("REDTEAM-RAN warm_server refused", path, type(error).__name__)
'''


def test_a_kernel_cannot_find_or_reach_the_warm_server(course):
    """Does a submission that hunts for the server's socket, while it listens, find and reach nothing?"""
    root, env = course
    submit(root, "hunter", HUNT.format(tmpdir=env["TMPDIR"]) + QUICK)
    submit(root, "control", QUICK)
    run = subprocess.Popen([sys.executable, "-m", "grader.autograde_class", ASSIGNMENT, "--force", "--workers", "1"],
                           cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    listening = set()
    while run.poll() is None:  # the server's socket, where the hunter looks for it
        listening.update(glob.glob(os.path.join(env["TMPDIR"], "nbg-verdict-*", "s")))
        time.sleep(0.1)
    output = run.stdout.read()
    assert run.returncode == 0, output[-3000:]
    assert listening, "expected the class runner's warm server to listen in its TMPDIR"
    nb = read_nb(os.path.join(root, "grader", "autograded", "hunter", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "REDTEAM-RAN warm_server found 0 []" in text, text[-3000:]
    assert "CONNECTED" not in text
