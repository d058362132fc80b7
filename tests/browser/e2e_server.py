"""Start and stop an isolated JupyterLab server for the browser tests.

The server:

* listens on 127.0.0.1 only, on a free port chosen by the server itself
  (``--port=0``; the real port is read back from its ``jpserver-<pid>.json``);
* uses a fixed token;
* serves a *copy* of the course (the repository without ``.git`` and test
  artifacts), so that running notebooks, nbgrader's gradebook.db and
  JupyterLab's checkpoints never touch the working tree;
* has its own HOME, Jupyter config/data/runtime dirs, JupyterLab settings and
  workspaces, and matplotlib/IPython dirs, so nothing from the developer's
  machine leaks in and nothing leaks out;
* has news, update checks and autosave switched off;
* is stopped by its own process id (SIGTERM to the process group we created,
  SIGKILL if it does not exit in time).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = "browser-tests-token"
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEMO_DIR = HERE / "demo"
DEMO_REL = "tests/browser/demo"


def course_dir() -> Path:
    """The course to serve: this repository, or $BROWSER_COURSE_DIR."""
    return Path(os.environ.get("BROWSER_COURSE_DIR", REPO_ROOT)).resolve()

# Directory and file names that are never copied into the served course.
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    ".pytest_cache",
    "artifacts",  # tests/browser/artifacts and any tests/artifacts
    "gradebook.db",
)

# JupyterLab user settings written into the isolated settings dir.
LAB_SETTINGS = {
    # No "Would you like to receive official Jupyter news?" pop-up, no update checks.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": False,
    },
    # Never write outputs back into the notebooks while a test runs them.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "autosave": False,
    },
    # Render every cell into the DOM (no virtual scrolling), so that every
    # widget output exists and can be found, screenshotted and driven.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def _free_of_proxies(env: dict[str, str]) -> dict[str, str]:
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(key, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@dataclass
class LabServer:
    course_src: Path
    workdir: Path
    log_path: Path
    python: str = sys.executable
    startup_timeout: float = 90.0
    token: str = TOKEN
    proc: subprocess.Popen | None = None
    port: int | None = None
    startup_seconds: float | None = None
    course_root: Path = field(init=False)
    env: dict[str, str] = field(init=False, default_factory=dict)

    # ------------------------------------------------------------------ setup
    def prepare(self) -> None:
        w = self.workdir
        self.course_root = w / "course"
        if self.course_root.exists():
            shutil.rmtree(self.course_root)
        shutil.copytree(self.course_src, self.course_root, ignore=COPY_IGNORE, symlinks=True)
        # The harness's own demo notebooks, whatever course is served.
        shutil.copytree(DEMO_DIR, self.course_root / DEMO_REL, dirs_exist_ok=True)

        home = w / "home"
        dirs = {
            "HOME": home,
            "JUPYTER_CONFIG_DIR": home / ".jupyter",
            "JUPYTER_DATA_DIR": home / ".local" / "share" / "jupyter",
            "JUPYTER_RUNTIME_DIR": w / "runtime",
            "JUPYTERLAB_SETTINGS_DIR": w / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": w / "lab-workspaces",
            "IPYTHONDIR": home / ".ipython",
            "MPLCONFIGDIR": w / "mplconfig",
            "XDG_CACHE_HOME": home / ".cache",
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_DATA_HOME": home / ".local" / "share",
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)

        for rel, values in LAB_SETTINGS.items():
            p = dirs["JUPYTERLAB_SETTINGS_DIR"] / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(values, indent=2))

        # nbgrader: an exchange directory that exists and is writable, so the
        # student "Assignments" list can load instead of showing an error.
        exchange = w / "exchange"
        exchange.mkdir(exist_ok=True)
        (dirs["JUPYTER_CONFIG_DIR"] / "nbgrader_config.py").write_text(
            "c = get_config()\n" f"c.Exchange.root = {str(exchange)!r}\n"
        )

        env = dict(os.environ)
        for key in list(env):
            if key.startswith(("JUPYTER", "JPY_")) or key in ("PYTHONSTARTUP", "MPLBACKEND"):
                env.pop(key)
        env.update({k: str(v) for k, v in dirs.items()})
        # nbgrader runs `alembic` as a subprocess: the venv's bin must be on PATH
        # even when the tests were started as /path/to/venv/bin/python -m pytest.
        env["PATH"] = os.path.dirname(self.python) + os.pathsep + env.get("PATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.env = _free_of_proxies(env)

    def prebuild(self) -> subprocess.Popen:
        """One-time course setup, in parallel with the server's start:

        * build matplotlib's font cache in the isolated MPLCONFIGDIR, else
          the first notebook prints "Matplotlib is building the font cache"
          on stderr;
        * create the nbgrader exchange directory the course's configuration
          names (an instructor's one-time setup step; git-ignored, so absent
          in a fresh clone), else the Assignments list shows an error.
        """
        code = (
            "import os\n"
            "import matplotlib.font_manager\n"
            "from jupyter_core.paths import jupyter_config_path\n"
            "from nbgrader.apps import NbGrader\n"
            "app = NbGrader()\n"
            "app.config_file_paths.append([os.getcwd()] + jupyter_config_path())\n"
            "app.load_config_file()\n"
            "root = app.config.Exchange.get('root')\n"
            "if root:\n"
            "    os.makedirs(root, exist_ok=True)\n"
            "    os.chmod(root, 0o777)\n"
            "print('exchange', root)\n"
        )
        return subprocess.Popen(
            [self.python, "-c", code],
            cwd=self.course_root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        cmd = [
            self.python, "-m", "jupyter", "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            "--port=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.course_root}",
            "--ServerApp.open_browser=False",
            "--ServerApp.terminals_enabled=False",
            "--FileContentsManager.delete_to_trash=False",
            # Lets the tests read kernel/session state of the open notebook
            # (window.jupyterapp). Test-only; never use in production.
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.course_root,  # nbgrader reads ./nbgrader_config.py
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: kernels die with it
        )
        log.close()
        try:
            self._wait_ready(t0)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def _wait_ready(self, t0: float) -> None:
        runtime = Path(self.env["JUPYTER_RUNTIME_DIR"])
        info_file = runtime / f"jpserver-{self.proc.pid}.json"
        deadline = t0 + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {self.proc.returncode} during startup; "
                    f"log:\n{self.log_tail()}"
                )
            if self.port is None and info_file.exists():
                try:
                    self.port = int(json.loads(info_file.read_text())["port"])
                except (ValueError, KeyError):
                    pass  # file being written
            if self.port is not None:
                try:
                    with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
            time.sleep(0.1)
        raise TimeoutError(
            f"JupyterLab did not answer within {self.startup_timeout}s; log:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        pgid = proc.pid  # start_new_session=True: the group id is the server's pid
        try:
            os.killpg(pgid, signal.SIGTERM)  # server shuts its kernels down
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        # Kernels still alive in our group (e.g. the server was killed) go too.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # --------------------------------------------------------------- helpers
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        path = path.lstrip("/")
        q = "&".join([f"token={self.token}"] + [f"{k}={v}" if v != "" else k for k, v in query.items()])
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path}{sep}{q}"

    def api(self, method: str, path: str, timeout: float = 10.0):
        req = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def sessions(self) -> list[dict]:
        return self.api("GET", "api/sessions")

    def shutdown_all_sessions(self) -> None:
        for s in self.sessions():
            try:
                self.api("DELETE", f"api/sessions/{s['id']}")
            except urllib.error.HTTPError:
                pass

    def log_tail(self, n: int = 60) -> str:
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-n:])
        except OSError:
            return "<no log>"
