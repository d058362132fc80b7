"""The README's first command, as written: `make lab` opens the course's first notebook.

The test runs `make lab` in the repository (its .venv is set up already, so
the command pays no set-up), without opening a browser (BROWSER=true) on a free port
(JUPYTER_PORT) with a known token (JUPYTER_TOKEN), then loads the server's
front page in headless Chromium and waits for the release notebook that
`make lab` names to open. As root, as in CI, it must say so and start anyway.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest
from e2e_server import REPO_ROOT

pytestmark = pytest.mark.browser


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_opens_the_first_notebook(browser, tmp_path):
    """Does `make lab`, run as the README says, serve JupyterLab with the first release notebook open?"""
    first = re.search(r"^FIRST_NOTEBOOK = (\S+)", (REPO_ROOT / "Makefile").read_text(), re.M).group(1)
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "BROWSER": "true", "JUPYTER_PORT": str(port), "JUPYTER_TOKEN": token,
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    checkpoints = REPO_ROOT / os.path.dirname(first) / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    log = open(tmp_path / "make_lab.log", "w+")
    proc = subprocess.Popen(["make", "lab"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            log.seek(0)
            text = log.read()
            if f":{port}/" in text or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert proc.poll() is None, f"make lab stopped:\n{text[-3000:]}"
        if os.geteuid() == 0:
            assert "running as root" in text
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/?token={token}", wait_until="domcontentloaded")
        tab = page.locator(".lm-TabBar-tabLabel", has_text=os.path.basename(first))
        tab.first.wait_for(timeout=90_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        assert first.split("/")[1] in page.url or os.path.basename(first) in page.content()
        context.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        if not had_checkpoints:  # opening the notebook wrote one; leave the tree as we found it
            shutil.rmtree(checkpoints, ignore_errors=True)
