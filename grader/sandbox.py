"""Confined kernels for autograding: bubblewrap + resource limits, over ZMQ `ipc`.

`SandboxKernelManager` is a jupyter_client AsyncKernelManager. The course
configuration makes nbgrader's execute preprocessor use it
(`c.ResilientExecute.kernel_manager_class`), so plain `nbgrader autograde`
runs every submission's kernel confined:

* filesystem: a fresh mount namespace holding only /usr (read-only), the
  Python prefixes and the `utils` package (read-only), a private folder with
  the kernel's Unix sockets and connection file, and tmpfs scratch: /tmp and
  the notebook's own folder (a copy of the submission). source/, the
  gradebook, other submissions, the exchange and every home are absent;
* network: a new network namespace (no interface but a down loopback); the
  grader talks to the kernel over Unix sockets (transport "ipc");
* processes: a new PID namespace, killed as a whole when the kernel stops
  (--die-with-parent; the namespace's init dies, the kernel kills the rest);
  a new session (no terminal); the environment is cleared;
* limits (prlimit, per process): address space (memory_limit, 2 GiB),
  CPU seconds, processes/threads, file size, open files, no core dumps;
  scratch tmpfs size;
* identity: as root, the kernel drops to `sandbox_uid` (65534) inside the
  sandbox; as any other user, bubblewrap uses an unprivileged user namespace
  and forbids nested ones.

If bubblewrap is missing or cannot create its namespaces, starting a kernel
fails with a message saying how to fix it; nothing is ever graded unconfined
unless the instructor sets `c.SandboxKernelManager.confine = False`.
"""

import functools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode, default

from grader import scratch, seccomp, submissions

GiB = 1024**3
MiB = 1024**2
INSIDE_SOCKETS = "/run/kernel"  # in the sandbox: the kernel's sockets and connection file (tmpfs)
SUBMISSION = "/nbgrader/submission"  # in the sandbox: the files the kernel starts with (read-only)
MAX_MESSAGE_BYTES = 64 * MiB  # a larger message from the kernel disconnects it

INSTALL_HINT = (
    "Autograding runs student code confined with bubblewrap. Install it "
    "(Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`) "
    "and, when grading as a non-root user, allow unprivileged user namespaces "
    "(`sudo sysctl kernel.unprivileged_userns_clone=1` on Debian; on Ubuntu 24.04+ "
    "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile for bwrap). "
    "To grade UNCONFINED instead, accepting that student code runs with your rights, set "
    "`c.SandboxKernelManager.confine = False` in grader/nbgrader_config.py."
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot build the sandbox on this machine."""


def human_bytes(n):
    """Return `n` bytes as '2 GiB' or '512 MiB'."""
    return f"{n / GiB:g} GiB" if n >= GiB else f"{n / MiB:g} MiB"


def package_paths(*names):
    """Return the folders of the importable packages `names` (what the kernel must read)."""
    import importlib.util

    paths = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            paths += [os.path.realpath(p) for p in spec.submodule_search_locations]
        elif spec and spec.origin:
            paths.append(os.path.realpath(spec.origin))
    return paths


_PREFLIGHT = {}


def preflight(bwrap="bwrap"):
    """Check that bubblewrap can build a sandbox here; raise SandboxUnavailable if not."""
    if bwrap in _PREFLIGHT:
        if _PREFLIGHT[bwrap]:
            raise SandboxUnavailable(_PREFLIGHT[bwrap])
        return
    path = shutil.which(bwrap)
    problem = None
    if path is None:
        problem = f"`{bwrap}` was not found on PATH. {INSTALL_HINT}"
    else:
        user = [] if os.geteuid() == 0 else ["--unshare-user"]
        cmd = [path, *user, "--unshare-net", "--unshare-pid", "--die-with-parent",
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
               "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
               "--proc", "/proc", "--dev", "/dev", "/usr/bin/true"]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            if run.returncode != 0:
                problem = f"bubblewrap cannot create a sandbox: {run.stderr.strip()}. {INSTALL_HINT}"
        except (OSError, subprocess.TimeoutExpired) as error:
            problem = f"bubblewrap failed to run: {error}. {INSTALL_HINT}"
    _PREFLIGHT[bwrap] = problem
    if problem:
        raise SandboxUnavailable(problem)


def package_fingerprint(folder):
    """Return a sha256 over the .py files under `folder`: their relative paths and bytes.

    Its source is also run in a confined kernel (:func:`check_course_package`),
    so it needs only the standard library.
    """
    import hashlib
    import os

    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(folder)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(f for f in filenames if f.endswith(".py")):
            path = os.path.join(dirpath, name)
            digest.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as fh:
                digest.update(fh.read() + b"\0")
    return digest.hexdigest()


_COURSE_PACKAGE = []  # the package a confined kernel was found to import, once per process


def check_course_package(config=None, timeout=60):
    """Check, before any student, that a confined kernel imports the grader's own `utils`.

    Runs once per process (a class runner's forked children inherit the answer).

    Starts one confined kernel with the course configuration, imports
    `utils` in it and compares where it came from and a fingerprint of its
    files with the package this process imports. Raises SandboxUnavailable,
    naming both places, when the kernel cannot import it or imports other
    files: every student would then be graded against the wrong code.
    """
    import asyncio
    import inspect

    import utils

    if _COURSE_PACKAGE:
        return _COURSE_PACKAGE[0]
    here = os.path.dirname(os.path.realpath(utils.__file__))
    probe = (inspect.getsource(package_fingerprint) + "\nimport json, os\n"
             "try:\n    import utils\nexcept Exception as e:\n"
             "    print(json.dumps({'error': f'{type(e).__name__}: {e}'}))\nelse:\n"
             "    _f = os.path.dirname(os.path.realpath(utils.__file__))\n"
             "    print(json.dumps({'path': _f, 'fingerprint': package_fingerprint(_f)}))\n")

    binds = []

    async def ask():
        km = SandboxKernelManager(config=config) if config is not None else SandboxKernelManager()
        binds.extend(km.readonly_paths)
        empty = scratch.make("nbg-sbx-check-")  # the kernel's folder: nothing to stage
        try:
            await km.start_kernel(cwd=empty)
        finally:
            scratch.remove(empty)
        kc = km.client()
        kc.start_channels()
        out = []
        try:
            await kc.wait_for_ready(timeout=timeout)
            await kc.execute_interactive(
                probe, timeout=timeout, store_history=False,
                output_hook=lambda msg: out.append(msg["content"].get("text", ""))
                if msg["msg_type"] == "stream" else None)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return "".join(out)

    try:
        seen = json.loads(asyncio.run(ask()).strip().splitlines()[-1])
    except SandboxUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 -- any failure here is the environment's
        raise SandboxUnavailable(f"a confined kernel could not report its `utils`: "
                                 f"{type(error).__name__}: {error}") from None
    if "error" in seen:
        raise SandboxUnavailable(f"the confined kernel cannot import the course package: {seen['error']} "
                                 f"(the grader imported {here}; the sandbox binds {binds or 'nothing'} "
                                 "read-only besides Python: c.SandboxKernelManager.readonly_paths)")
    if seen["path"] != here or seen["fingerprint"] != package_fingerprint(here):
        raise SandboxUnavailable(f"the confined kernel imports other course files than the grader: "
                                 f"the kernel sees utils at {seen['path']}, the grader imported {here}"
                                 + ("" if seen["path"] != here else " (same folder, other contents)"))
    _COURSE_PACKAGE.append(here)
    return here


@functools.cache
def font_cache():
    """Return the path of matplotlib's font cache on the host, or None.

    A confined kernel starts with an empty MPLCONFIGDIR on its tmpfs; given
    this file, it does not rebuild the cache (a fraction of a second per
    notebook).
    """
    try:
        import matplotlib
        from matplotlib import font_manager
    except ImportError:  # without matplotlib there is nothing to speed up
        return None
    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    path = os.path.join(matplotlib.get_cachedir(), name)
    return path if os.path.isfile(path) else None


class BoundedClient(AsyncKernelClient):
    """A kernel client whose sockets drop a kernel that sends a message over MAX_MESSAGE_BYTES."""

    @default("context")
    def _context_default(self):
        self._created_context = True  # the client destroys it when its channels stop
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs inside bubblewrap with resource limits."""

    confine = Bool(
        True,
        help="Run kernels confined. False grades UNCONFINED: student code runs with the "
        "grader's rights (only for instructors who accept that risk).",
    ).tag(config=True)
    memory_limit = Integer(2 * GiB, help="Address-space limit per process, bytes.").tag(config=True)
    cpu_seconds = Integer(600, help="CPU-time limit per process, seconds.").tag(config=True)
    max_processes = Integer(
        64, help="Processes and threads of the sandbox user (RLIMIT_NPROC)."
    ).tag(config=True)
    max_file_size = Integer(64 * MiB, help="Largest file the kernel may write, bytes.").tag(config=True)
    max_open_files = Integer(256, help="Open file descriptors per process.").tag(config=True)
    scratch_size = Integer(
        512 * MiB, help="Size of each tmpfs scratch (the notebook folder, /tmp), bytes."
    ).tag(config=True)
    readonly_paths = List(
        Unicode(), help="Host paths the kernel may read (besides /usr and the Python prefixes)."
    ).tag(config=True)
    sandbox_uid = Integer(65534, help="User the kernel runs as when the grader is root.").tag(
        config=True
    )
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    blas_threads = Integer(1, help="OPENBLAS/OMP/MKL threads in the kernel.").tag(config=True)

    @default("transport")
    def _transport_default(self):
        return "ipc"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._sbx_rundir = None
        self._sbx_cwd = None
        if not self.confine:
            self.transport = "tcp"
        else:
            self.transport = "ipc"
            scratch.sweep()
            # on the host: the connection file, the files the kernel starts with, the filter;
            # the kernel never sees this folder, only what is bound from it, read-only
            self._sbx_rundir = scratch.make("nbg-sbx-")
            self.connection_file = os.path.join(self._sbx_rundir, "kernel.json")
            # the sockets live on a tmpfs inside the sandbox; the kernel binds them here, and
            # the grader reaches them through /proc/<pid>/root once the sandbox runs
            self.ip = INSIDE_SOCKETS + "/k"

    async def start_kernel(self, **kwargs):
        """Start the kernel confined (or loudly unconfined when confine is False)."""
        self._sbx_cwd = os.path.abspath(kwargs.get("cwd") or os.getcwd())
        if self.confine:
            try:
                preflight(self.bwrap)
                self._stage_files()
                with open(os.path.join(self._sbx_rundir, "seccomp.bpf"), "wb") as fh:
                    fh.write(seccomp.program())
            except (SandboxUnavailable, seccomp.Unsupported):
                self.cleanup_rundir()
                raise
        else:
            self.log.warning("GRADING UNCONFINED (SandboxKernelManager.confine = False): "
                             "student code runs with the grader's rights")
        try:
            return await super().start_kernel(**kwargs)
        except BaseException:
            self.cleanup_rundir()
            raise

    def _stage_files(self):
        """Copy the files the kernel may start with: the folder's regular files, no notebook.

        nbgrader runs the kernel in the autograded folder, which holds the
        notebook being graded with every hidden test restored into it; the
        kernel's folder must hold nothing the student did not write (or the
        instructor released beside the notebook), so notebooks stay out.
        """
        staged = os.path.join(self._sbx_rundir, "files")
        os.mkdir(staged)
        found = submissions.scan(self._sbx_cwd, dest=staged, exclude=["*.ipynb"])
        for rel, reason in found.refused:
            self.log.warning("not copied into the sandbox: %s (%s)", rel, reason)
        for folder, dirs, _ in os.walk(staged):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        os.chmod(staged, 0o755)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.confine and os.geteuid() == 0:
            os.chown(self.connection_file, self.sandbox_uid, self.sandbox_uid)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self.confine:
            return cmd
        cmd = [INSIDE_SOCKETS + "/kernel.json" if arg == self.connection_file else arg for arg in cmd]
        return self.wrap(cmd)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.confine:
            self.ip = f"/proc/{self._sandbox_pid()}/root{INSIDE_SOCKETS}/k"

    def _sandbox_pid(self, timeout=30):
        """Return the host pid of the sandbox's first process, which bubblewrap reports."""
        info = os.path.join(self._sbx_rundir, "info.json")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(info) as fh:
                    return int(json.load(fh)["child-pid"])
            except (OSError, ValueError, KeyError):
                process = getattr(self.provisioner, "process", None)
                if process is not None and process.poll() is not None:
                    break
                time.sleep(0.01)
        raise SandboxUnavailable("bubblewrap did not report its sandbox's process; "
                                 f"the kernel could not start. {INSTALL_HINT}")

    @default("client_class")
    def _client_class_default(self):
        return "grader.sandbox.BoundedClient"

    def wrap(self, cmd):
        """Return `cmd` wrapped in bwrap, setpriv (as root) and prlimit."""
        cwd = self._sbx_cwd or os.getcwd()
        root = os.geteuid() == 0
        # fd 3: the seccomp filter; fd 4: where bubblewrap reports its sandbox's pid
        b = ["/bin/sh", "-c", 'exec "$@" 3<"$0/seccomp.bpf" 4>"$0/info.json"', self._sbx_rundir,
             shutil.which(self.bwrap) or self.bwrap, "--seccomp", "3", "--info-fd", "4",
             "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
        if root:
            # no user namespace: the kernel gets a real, unprivileged uid (RLIMIT_NPROC
            # does not apply to uid 0); setpriv inside needs these two, then drops all
            b += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            b += ["--unshare-user", "--disable-userns"]
        b += ["--ro-bind", "/usr", "/usr",
              "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
              "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
              "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
              "--ro-bind-try", "/etc/fonts", "/etc/fonts",
              "--ro-bind-try", "/etc/localtime", "/etc/localtime",
              "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
              "--proc", "/proc", "--dev", "/dev",
              # every place the kernel can write is a tmpfs with a size
              "--perms", "1777", "--size", str(self.scratch_size), "--tmpfs", "/tmp",
              "--perms", "1777", "--size", str(MiB), "--tmpfs", "/dev/shm",
              "--perms", "1777", "--size", str(MiB), "--tmpfs", INSIDE_SOCKETS,
              "--ro-bind", self.connection_file, INSIDE_SOCKETS + "/kernel.json"]
        made = {"/", "/usr", "/tmp", "/proc", "/dev", "/run", INSIDE_SOCKETS}

        def parents(path):
            # bubblewrap copies the host's modes for the folders it creates on the way
            # to a mount point (/root is 0700): make them traversable instead
            out, parts = [], path.strip("/").split("/")[:-1]
            for i in range(len(parts)):
                folder = "/" + "/".join(parts[: i + 1])
                if folder not in made:
                    made.add(folder)
                    out += ["--perms", "0755", "--dir", folder]
            return out

        ro = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
        ro = [os.path.realpath(p) for p in ro] + [os.path.realpath(p) for p in self.readonly_paths]
        for path in dict.fromkeys(ro):
            if not path.startswith("/usr/") and path != "/usr" and os.path.exists(path):
                b += parents(path) + ["--ro-bind", path, path]
                made.add(path)
        home = "/tmp/home"
        b += parents(cwd) + parents(SUBMISSION) + [
              "--ro-bind", os.path.join(self._sbx_rundir, "files"), SUBMISSION,
              "--perms", "1777", "--size", str(self.scratch_size), "--tmpfs", cwd,
              "--chdir", cwd,
              "--setenv", "HOME", home,
              "--setenv", "PATH", "/usr/bin:/bin",
              "--setenv", "LANG", "C.UTF-8",
              "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
              # the course package as the grader imports it, whether installed or on its PYTHONPATH
              "--setenv", "PYTHONPATH", ":".join(dict.fromkeys(
                  os.path.dirname(os.path.realpath(p)) for p in self.readonly_paths)),
              "--setenv", "MPLBACKEND", "module://matplotlib_inline.backend_inline",
              "--setenv", "MPLCONFIGDIR", "/tmp/mpl",
              "--setenv", "OPENBLAS_NUM_THREADS", str(self.blas_threads),
              "--setenv", "OMP_NUM_THREADS", str(self.blas_threads),
              "--setenv", "MKL_NUM_THREADS", str(self.blas_threads),
              "--setenv", "JPY_PARENT_PID", "1",
              # no /dev/shm semaphores here: without this joblib (scikit-learn) warns on stderr
              "--setenv", "JOBLIB_MULTIPROCESSING", "0"]
        if font_cache():
            # MPLCONFIGDIR must be writable, or matplotlib ignores it and rebuilds the cache
            b += ["--perms", "1777", "--dir", "/tmp/mpl",
                  "--ro-bind", font_cache(), "/tmp/mpl/" + os.path.basename(font_cache())]
        inner = []
        if root:
            uid = str(self.sandbox_uid)
            inner += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                      "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        inner += ["/usr/bin/prlimit",
                  f"--as={self.memory_limit}",
                  f"--cpu={self.cpu_seconds}:{self.cpu_seconds + 5}",
                  f"--nproc={self.max_processes}",
                  f"--fsize={self.max_file_size}",
                  f"--nofile={self.max_open_files}",
                  "--core=0", "--"]
        # the notebook folder is a tmpfs: copy the submission's files in, then start the kernel
        boot = ["/bin/sh", "-c",
                f'mkdir -p {home}; cp -a {SUBMISSION}/. . 2>/dev/null; exec "$@"', "sbx"]
        full = b + ["--"] + inner + boot + cmd
        self.log.debug("confined kernel command: %s", shlex.join(full))
        return full

    async def interrupt_kernel(self):
        """Interrupt by message: a signal cannot cross into the sandbox's new session."""
        if self.confine and self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)
            return
        await super().interrupt_kernel()

    def death_reason(self, cell_name):
        """Return why the kernel process ended, in words, or None if it still runs."""
        process = getattr(getattr(self, "provisioner", None), "process", None)
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=5)
            except Exception:  # noqa: BLE001 -- still running, or already reaped
                code = getattr(process, "returncode", None)
        sig = -code if code is not None and code < 0 else (code - 128 if code and code > 128 else None)
        where = f"in cell `{cell_name}`"
        if not self.confine:
            return None if sig is None else f"the kernel died from {signal.Signals(sig).name} {where}"
        if sig == signal.SIGXCPU:
            return f"CPU-time limit of {self.cpu_seconds} s reached {where}"
        if sig == signal.SIGKILL:
            return (f"the kernel was killed {where} (CPU hard limit of {self.cpu_seconds + 5} s, "
                    "or out of memory)")
        if sig == signal.SIGXFSZ:
            return f"file-size limit of {human_bytes(self.max_file_size)} reached {where}"
        if sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
            return (f"the kernel crashed ({signal.Signals(sig).name}) {where}; "
                    f"possibly the memory limit of {human_bytes(self.memory_limit)}")
        if sig:
            return f"the kernel died from {signal.Signals(sig).name} {where}"
        return None  # an ordinary exit: the caller words it

    def cleanup_rundir(self):
        """Remove the host folder of this kernel."""
        if self._sbx_rundir:
            scratch.remove(self._sbx_rundir)

    async def shutdown_kernel(self, now=False, restart=False):
        try:
            await super().shutdown_kernel(now=now, restart=restart)
        finally:
            if not restart:
                self.cleanup_rundir()

    def __del__(self):
        self.cleanup_rundir()
        parent = getattr(super(), "__del__", None)
        if parent:
            parent()
