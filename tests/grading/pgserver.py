"""A throwaway PostgreSQL server for the tests: Debian's postgresql, on a Unix socket, as an unprivileged user.

PostgreSQL refuses to run as root, and CI runs as root, so the server runs as
the `postgres` user that Debian's package creates (or as the current user when
that is not root). `initdb` writes into a fresh folder under /tmp; the server
listens on a Unix socket in that folder only, never on a TCP port; `stop()`
ends it by its process id. Each test asks for a database of its own.
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

USER = "grader"  # the database superuser initdb creates


def binaries():
    """Return the folder of the newest installed PostgreSQL's programs, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


class Server:
    """One PostgreSQL server: start(), url(database), create_database(), stop()."""

    def __init__(self):
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("expected Debian's postgresql (/usr/lib/postgresql/*/bin/initdb): "
                               "`make system-deps` installs it")
        self.folder = tempfile.mkdtemp(prefix="nn-pg-", dir="/tmp")
        self.data, self.socket = os.path.join(self.folder, "data"), os.path.join(self.folder, "socket")
        os.mkdir(self.socket)
        self.as_user = []
        if os.geteuid() == 0:  # PostgreSQL refuses root: run it as postgres
            account = pwd.getpwnam("postgres")
            for path in (self.folder, self.socket):
                os.chown(path, account.pw_uid, account.pw_gid)
            self.as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                            "--init-groups", "--"]
        self.process = None
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", USER, "-A", "trust",
                   "-E", "UTF8", "--no-sync"])

    def _run(self, command):
        subprocess.run(self.as_user + command, check=True, capture_output=True, text=True, cwd="/tmp")

    def start(self, timeout=30):
        """Start the server (again) on its socket; return once it accepts connections."""
        self.process = subprocess.Popen(
            self.as_user + [os.path.join(self.bin, "postgres"), "-D", self.data, "-k", self.socket,
                            "-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off",
                            "-c", "unix_socket_permissions=0777"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/tmp", start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run([os.path.join(self.bin, "pg_isready"), "-h", self.socket, "-U", USER],
                                   capture_output=True)
            if ready.returncode == 0:
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections within {timeout} s")

    def stop(self):
        """Stop the server by its pid (a fast shutdown: clients are disconnected)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def url(self, database):
        """The SQLAlchemy URL of `database` on this server."""
        return f"postgresql://{USER}@/{database}?host={self.socket}"

    def create_database(self, name=None):
        """Create a fresh, empty database and return its URL."""
        import psycopg

        name = name or "gb_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host=self.socket, user=USER, dbname="postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self):
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
