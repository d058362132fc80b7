"""Fixtures for the end-to-end browser tests (marker: `browser`).

Session: one isolated JupyterLab server (see e2e_server.py) and one headless
Debian Chromium driven by Playwright for Python. Function: a fresh page; every
kernel is shut down after each test.

Environment knobs:
  CHROMIUM_PATH           browser binary (default: `chromium` on PATH, /usr/bin/chromium)
  BROWSER_ARTIFACTS_DIR   artifacts root (default: tests/artifacts, git-ignored):
                          screenshots/ (wiped at session start), browser/jupyterlab.log,
                          browser/timings.json
  BROWSER_COURSE_DIR      course to serve (default: this repository; it is copied)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from e2e_server import REPO_ROOT, LabServer, course_dir  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container: no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # else Chromium's own connections get refused
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--font-render-hinting=none",
]
VIEWPORT = {"width": 1400, "height": 1000}

_TIMINGS: dict = {}

# The demo notebooks are driven in the browser, not run by nbval (the broken
# one fails on purpose).
collect_ignore_glob = ["demo/*.ipynb"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: end-to-end tests in headless Chromium against JupyterLab")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    d = Path(os.environ.get("BROWSER_ARTIFACTS_DIR", REPO_ROOT / "tests" / "artifacts")).resolve()
    (d / "browser").mkdir(parents=True, exist_ok=True)
    shots = d / "screenshots"
    if shots.exists():
        shutil.rmtree(shots)  # never mix screenshots of two runs
    shots.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def screenshots_dir(artifacts_dir) -> Path:
    return artifacts_dir / "screenshots"


@pytest.fixture(scope="session")
def timings(artifacts_dir):
    t0 = time.monotonic()
    yield _TIMINGS
    _TIMINGS["session_total"] = round(time.monotonic() - t0, 2)
    (artifacts_dir / "browser" / "timings.json").write_text(json.dumps(_TIMINGS, indent=2, sort_keys=True))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path and os.path.exists("/usr/bin/chromium"):
        path = "/usr/bin/chromium"
    if not path:
        pytest.fail(
            "Chromium not found. Install Debian's browser: `apt-get install -y chromium` "
            "(or set CHROMIUM_PATH). Run the other tests with -m 'not browser'.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, artifacts_dir, timings):
    server = LabServer(
        course_src=course_dir(),
        workdir=tmp_path_factory.mktemp("jupyterlab"),
        log_path=artifacts_dir / "browser" / "jupyterlab.log",
    )
    server.prepare()
    setup = server.prebuild()
    try:
        server.start()
        out, _ = setup.communicate(timeout=120)
        if setup.returncode:
            pytest.fail(f"course setup for the browser tests failed:\n{out}", pytrace=False)
        timings["jupyterlab_startup"] = round(server.startup_seconds, 2)
        yield server
    finally:
        if setup.poll() is None:
            setup.kill()
        server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="session")
def browser_context(browser):
    # One context for the session: JupyterLab's ~10 MB of JS stays in the HTTP
    # cache between tests. Each test still gets its own page (fresh app state).
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-US",
                              timezone_id="UTC", reduced_motion="reduce")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def lab_page(browser_context, lab_server, timings):
    """One JupyterLab page for the session, as a person keeps one tab open."""
    from e2e_lab import ensure_lab

    pg = browser_context.new_page()
    timings["jupyterlab_first_page_load"] = round(ensure_lab(pg, lab_server), 2)
    yield pg
    pg.close()


@pytest.fixture
def page(lab_page, lab_server, request, screenshots_dir):
    """The session's JupyterLab page; after each test every tab is closed and
    every kernel shut down. After a failure the page is reloaded, so the
    next test starts from a clean JupyterLab (the failed test is not re-run)."""
    from e2e_lab import close_all_tabs, ensure_lab

    ensure_lab(lab_page, lab_server)
    yield lab_page
    rep = getattr(request.node, "rep_call", None)
    failed = rep is not None and rep.failed
    if failed:
        try:
            d = screenshots_dir / "failures"
            d.mkdir(parents=True, exist_ok=True)
            name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request.node.name)
            lab_page.screenshot(path=str(d / f"{name}.png"))
        except Exception:
            pass
    try:
        close_all_tabs(lab_page)
    except Exception:
        failed = True
    lab_server.shutdown_all_sessions()
    if failed:
        lab_page.goto("about:blank")  # next test loads JupyterLab afresh
