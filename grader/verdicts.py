"""Trusted verdicts: autograded test cells are decided outside the student's kernel.

ResilientExecute does not run an autograded test cell in the student's kernel.
It hands the test's source, from the canonical notebook (grader/canon.py, never
the submission), to a clean worker (grader/verdict_worker.py, `python -I`,
never runs student code; under the class runner it is forked from a warm
server, :func:`start_server`), which runs the notebook's imports and the
instructor's cells that do not depend on student code itself, and then the
test, once. Only the test's calls into the student's functions run in the
kernel (grader/kernel_agent.py); only data crosses (grader/wire.py). The
worker's outcome (what the test printed, then a pass line or the error)
becomes the cell's outputs, so that is what nbgrader scores.

Which names a test may take from the kernel is decided here, from the
canonical notebook and the cells the kernel ran (:class:`Bindings`): only
names that the student's cells bound last. Names that the instructor's
self-contained cells bind are the worker's own, whatever the student rebinds;
names that instructor cells computed from student code are refused.

Every read from the worker and the kernel has a deadline: one per test cell,
the cell timeout, covering all its calls. Every message is checked against
its op's fields (wire.OPS) before it is passed on.
"""

import ast
import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output

from grader import kernel_agent, scratch, wire

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verdict_worker.py")
INLINE_PAYLOAD = 8192  # call arguments up to this many characters go in the code itself
MAX_DATA = 512 * 2**20  # characters of replies a notebook's kernel may send the grader in all
WORKER_GRACE = 10  # seconds the worker has for its verdict once a cell's deadline has passed
HIDDEN_MARK = "BEGIN HIDDEN TESTS"
STICKY = ("import", "pure", "denied")  # binders a student's cell cannot override in the worker


# the clean worker's whole environment: nothing of the grader's, one BLAS thread, no display
WORKER_ENV = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}


class VerdictError(RuntimeError):
    """The verdict machinery could not decide a cell (the worker stopped or ran past its deadline)."""


_server = None  # this process's warm worker server: (process, socket path, owner pid), or None


def start_server(timeout=30):
    """Start this process's warm worker server, once; return its process, or None if it did not start.

    Every Verdicts made here or in a process forked from here afterwards forks its
    worker from this server (`verdict_worker.py --serve`) instead of starting one:
    the notebook's imports (numpy, matplotlib, the course package: 0.4-1 s of CPU
    time) are paid once per process and assignment, not once per notebook, which is
    what a second grader on the same cores needs. The server gets SIGTERM when this
    process ends, and then kills every worker it forked. Without it (it failed to
    start, or `nbgrader autograde` runs by itself) each Verdicts starts its own worker.
    """
    global _server
    if _server is not None:
        return _server[0]
    from grader.zygote import die_with_parent

    folder = scratch.make("nbg-verdict-")
    path = os.path.join(folder, "s")
    proc = subprocess.Popen(
        [sys.executable, "-I", WORKER, "--serve", path], cwd=folder, env=WORKER_ENV,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=lambda: die_with_parent(signal.SIGTERM),
    )
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready or b'"ready"' not in proc.stdout.readline():
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        scratch.remove(folder)
        return None
    _server = (proc, path, os.getpid())
    atexit.register(stop_server)
    return proc


def stop_server():
    """Stop this process's warm worker server and every worker it forked."""
    global _server
    if _server is None or _server[2] != os.getpid():
        return  # none, or the server of the process this one was forked from
    proc, path, _ = _server
    _server = None
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    scratch.remove(os.path.dirname(path))


class ForkedWorker:
    """A worker forked by the warm server, with the parts of Popen that Verdicts uses."""

    def __init__(self, folder, imports, timeout=60):
        """Ask the server for a worker in `folder` that has run `imports` (import statements)."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(_server[1])
            self.sock.sendall(json.dumps({"cwd": folder, "imports": imports}).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = self.sock.recv(256)
                if not chunk:
                    raise OSError("the worker server closed the connection")
                reply += chunk
            self.pid = int(json.loads(reply)["pid"])
            self.pidfd = os.pidfd_open(self.pid)  # signals reach this worker, never a reused pid
            self.sock.settimeout(None)
        except BaseException:
            self.sock.close()
            raise
        self.stdin = self.sock.makefile("wb")
        self.stdout = self.sock

    def kill(self):
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout=None):
        select.select([self.pidfd], [], [], timeout)  # readable once the worker has exited
        os.close(self.pidfd)
        self.stdin.close()
        self.sock.close()


def started_worker(folder):
    """A clean worker started afresh in `folder`: `python -I verdict_worker.py`."""
    return subprocess.Popen(
        [sys.executable, "-I", WORKER], cwd=folder, env=WORKER_ENV, bufsize=0,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )


def new_worker(folder, imports):
    """A clean worker in `folder`: forked by the warm server if there is one (after `imports`), else started."""
    if _server is not None:
        try:
            return ForkedWorker(folder, imports)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no server after all: start a worker as if there had been none
    return started_worker(folder)


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


AGENT_BOOT = kernel_agent.boot_code(_read(wire.__file__), _read(kernel_agent.__file__))


def python_source(source):
    """Return a cell's source as plain Python, with IPython's magics and shell escapes translated."""
    if not isinstance(source, str) or len(source) > wire.MAX_SOURCE:
        return ""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 -- not IPython either: it binds nothing we can see
        return ""


def instructor_kind(cell):
    """Return "test" or "locked" for a code cell whose source is the instructor's, else None.

    Relies on grader.preprocessors.RestoreMissingCells having run (the course's
    sanitize step): it rebuilds the notebook in the canonical order, sets
    `grade`, `solution` and `locked` of known cells from the gradebook,
    restores the source of locked cells and strips nbgrader metadata the
    gradebook does not know. So a cell with a grade_id and `locked` true holds
    the instructor's source.
    """
    meta = cell.metadata.get("nbgrader", {})
    if (cell.cell_type != "code" or not meta.get("grade_id") or meta.get("locked") is not True
            or meta.get("solution")):
        return None
    return "test" if meta.get("grade") else "locked"


def _imports(source):
    """Return the top-level import statements of `source` (as code) and the names they bind."""
    tree = wire.parse(source)
    lines, names = [], set()
    for node in tree.body if tree is not None else []:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.append(ast.unparse(node))
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return lines, names


class Plan:
    """What the worker computes itself, from the canonical notebook's code cells.

    `cells`: [(grade_id, kind, source)] in order, kind "test", "locked" or
    "answer" (any other code cell). A locked cell that reads only imports and
    names of earlier such cells does not depend on the student's code: the
    worker runs it (if a test needs it), and what it binds is never taken from
    the kernel. A locked cell that calls student code, or is not plain Python,
    runs only in the kernel, and the names it binds are refused to tests.
    """

    def __init__(self, cells):
        self._names = {}  # source -> wire.cell_names(source): each cell is parsed once
        self.tests = {g: s for g, k, s in cells if k == "test"}
        self.import_lines, self.import_names = [], set()
        for _, kind, source in cells:
            if kind == "locked":
                lines, names = _imports(source)
                self.import_lines += lines
                self.import_names |= names
        self.pure, self.impure = {}, {}  # grade_id -> (source, sorted binds)
        worker_has = set(self.import_names)
        for grade_id, kind, source in cells:
            if kind != "locked":
                continue
            names = self.names(source)
            if names is not None and names[1] <= worker_has:
                self.pure[grade_id] = (source, sorted(names[0]))
                worker_has |= names[0]
            else:
                binds = names[0] if names else set()
                self.impure[grade_id] = (source, sorted(binds))
                worker_has -= binds
        # run only the pure cells that bind what some test reads (and what those cells read)
        needed = set()
        for source in self.tests.values():
            needed |= (self.names(source) or (set(), set()))[1]
        self.needed, changed = set(), True
        while changed:
            changed = False
            for grade_id, (source, binds) in self.pure.items():
                if grade_id not in self.needed and set(binds) & needed:
                    self.needed.add(grade_id)
                    needed |= self.names(source)[1]
                    changed = True
        self.reads = needed  # every name the worker's code may read
        # a needed cell whose names are bound by no other instructor cell may run at once,
        # with the notebook's start, in parallel with the kernel
        count = {}
        for _, _, source in cells:
            for name in (self.names(source) or (set(), set()))[0]:
                count[name] = count.get(name, 0) + 1
        self.early = {g for g in self.needed if all(count[n] == 1 for n in set(self.pure[g][1]) & needed)}

    def names(self, source):
        """wire.cell_names of an instructor's cell, parsed once (read it, never change it)."""
        if source not in self._names:
            self._names[source] = wire.cell_names(source)
        return self._names[source]

    def setup_code(self):
        """The import statements the worker needs: those binding a name its code reads."""
        keep = []
        for line in self.import_lines:
            _, names = _imports(line)
            if names & self.reads:
                keep.append(line)
        return "\n".join(dict.fromkeys(keep))


class Bindings:
    """Who last bound each name, as the notebook runs: the worker's own, a test, or the kernel.

    "import" and "pure" names are the worker's (computed there), "denied" ones
    were computed from student code by the instructor's cells, "test" ones a
    test bound in the worker, "kernel" ones a student's cell (or an answer)
    bound in the kernel. A student's cell cannot take over a sticky name.
    """

    def __init__(self, plan):
        self.plan = plan
        self.binder = {name: "import" for name in plan.import_names}
        self.forget = set()  # kernel-bound names since the last test

    def ran(self, grade_id, kind, source):
        """Record a non-test code cell that ran in the kernel (and, if pure, in the worker)."""
        if kind == "locked" and grade_id in self.plan.pure:
            self._bind(self.plan.pure[grade_id][1], "pure")
        elif kind == "locked" and grade_id in self.plan.impure:
            self._bind(self.plan.impure[grade_id][1], "denied")
        else:
            names = wire.cell_names(python_source(source))
            binds = names[0] if names else set()
            fresh = [n for n in binds if self.binder.get(n) not in STICKY]
            self._bind(fresh, "kernel")
            self.forget |= set(fresh)

    def _bind(self, names, binder):
        for name in names:
            self.binder[name] = binder

    def test(self, source):
        """Return (fetch, deny, forget) for a test about to run, and record what it binds."""
        names = self.plan.names(source) or (set(), set())
        fetch = sorted(n for n in names[1] if self.binder.get(n) == "kernel")
        deny = sorted(n for n in names[1] if self.binder.get(n) == "denied")
        forget, self.forget = sorted(self.forget), set()
        self._bind([n for n in names[0] if self.binder.get(n) not in STICKY], "test")
        return fetch, deny, forget


def untrusted_reads(nb):
    """Return {test grade_id: [names]} for tests of a source notebook that read refused names.

    Such a test would fail under trusted verdicts whatever the student wrote:
    it reads a value that locked cells computed from student code. The release
    check reports them, so the test can be rewritten to call the functions.
    """
    cells = source_cells(nb)
    bindings, found = Bindings(Plan(cells)), {}
    for grade_id, kind, source in cells:
        if kind == "test":
            _, deny, _ = bindings.test(source)
            if deny:
                found[grade_id] = deny
        else:
            bindings.ran(grade_id, kind, source)
    return found


def source_cells(nb):
    """Return the code cells of an instructor's notebook as Plan's [(grade_id, kind, source)]."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index}"
            cells.append((grade_id, instructor_kind(cell) or "answer", cell.source))
    return cells


class Verdicts:
    """One clean worker per notebook; `judge` decides one test cell."""

    def __init__(self, executor, canon):
        self.executor = executor  # the ResilientExecute running the notebook
        code_cells = [(c.grade_id, c.kind if c.kind in ("test", "locked") else "answer", c.source)
                      for c in canon if c.cell_type == "code"]
        self.tests = {g: s for g, k, s in code_cells if k == "test"}
        self.plan = Plan(code_cells)
        self.bindings = Bindings(self.plan)
        self.received = 0
        self.agent_ready = False
        self.folder = scratch.make("nbg-verdict-")
        self.proc = new_worker(self.folder, self.plan.import_lines)
        self.buffer = b""
        self._send(wire.message("setup", code=self.plan.setup_code()))
        self.ready = False  # the worker's answer to setup is read by the first judge
        self.sent = set(self.plan.early)  # the pure cells already sent to the worker
        self._send(wire.message("cells", cells=self._cells(self.plan.early)))
        self.judged_up_to = 0  # cells before this index have been accounted for

    # ---- the worker ----------------------------------------------------------
    def _cells(self, grade_ids):
        return [{"code": self.plan.pure[g][0], "binds": self.plan.pure[g][1]}
                for g in self.plan.pure if g in grade_ids]

    def _send(self, msg):
        try:
            self.proc.stdin.write((wire.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise VerdictError("the verdict worker stopped") from None

    def _receive(self, deadline, *ops):
        """Read the worker's next message, one of `ops`, by `deadline` (monotonic seconds)."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise VerdictError("the verdict worker ran past the cell's deadline")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise VerdictError("the verdict worker stopped")
                self.buffer += chunk
                if len(self.buffer) > wire.MAX_MESSAGE + 2 and b"\n" not in self.buffer:
                    raise VerdictError("the verdict worker sent an oversized message")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return wire.loads(line, *ops, limit=wire.MAX_MESSAGE + 2)
        except wire.WireError as error:
            raise VerdictError(f"the verdict worker sent a bad message: {error}") from None

    # ---- the kernel ------------------------------------------------------------
    def _kernel(self, code, deadline, payload=""):
        """Run `code` in the student's kernel; return (its one reply or None, what it wrote to stderr)."""
        return run_sync(self._async_kernel)(code, deadline, payload)

    async def _async_kernel(self, code, deadline, payload=""):
        """Execute `code` with stdin allowed, answering callback requests, until `deadline`.

        nbclient neither answers input requests nor lets a cell do so, and jupyter_client's
        KernelClient.execute_interactive (which has stdin and output hooks) ends at its
        timeout without a way to interrupt the kernel and go on waiting for the same
        execution's reply; so this is a small message loop of its own: iopub for the reply and the kernel's state,
        stdin for callbacks, shell for the execute reply. Every message counts
        toward the notebook's output cap. A kernel that dies raises
        DeadKernelError; one that runs past the deadline is interrupted and, if it
        still does not finish within 10 s, raises CellTimeoutError.
        """
        import zmq
        import zmq.asyncio

        executor = self.executor
        kc = executor.kc
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=True, stop_on_error=False)
        channels = {kc.iopub_channel.socket: kc.iopub_channel, kc.stdin_channel.socket: kc.stdin_channel,
                    kc.shell_channel.socket: kc.shell_channel}
        poller = zmq.asyncio.Poller()
        for zsocket in channels:
            poller.register(zsocket, zmq.POLLIN)
        interrupted, replies, stderr = False, [], ""
        idle = replied = False
        while not (idle and replied):
            if time.monotonic() > deadline:
                if interrupted:
                    raise CellTimeoutError("a test's call into student code ignored the interrupt")
                await _ensure_async(executor.km.interrupt_kernel())
                deadline, interrupted = time.monotonic() + 10, True
            ready = dict(await poller.poll(500))
            if not ready:
                if not await _ensure_async(executor.km.is_alive()):
                    raise DeadKernelError("the kernel died while the grader was checking a test")
                continue
            for zsocket in ready:
                channel = channels[zsocket]
                msg = await channel.get_msg(timeout=0)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if channel is kc.shell_channel:
                    replied = True
                elif channel is kc.stdin_channel and kind == "input_request":
                    kc.input(self._answer_input(str(content.get("prompt", "")), payload, deadline))
                    payload = ""  # given once
                elif kind == "status":
                    idle = content.get("execution_state") == "idle"
                elif kind == "display_data" and wire.MIME in content.get("data", {}):
                    data = content["data"][wire.MIME]
                    self.received += len(data) if isinstance(data, str) else 0
                    replies.append(data)
                else:
                    executor.count_output(msg)
                    if kind == "stream" and content.get("name") == "stderr" and len(stderr) < 2000:
                        stderr += str(content.get("text", ""))[:2000]
        if interrupted:
            return wire.message("result", raised="KeyboardInterrupt: the test cell ran past its time "
                                "limit and was interrupted", etype="TimeoutError"), stderr
        if len(replies) > 1:
            return wire.message("result", raised="your code published a message in the grader's own "
                                "format while the test called it", etype="RuntimeError"), stderr
        if self.received > MAX_DATA:
            return wire.message("result", raised="your functions sent more than "
                                f"{MAX_DATA >> 20} MiB of data to the grader", etype="MemoryError"), stderr
        return (replies[0] if replies else None), stderr

    def _answer_input(self, prompt, payload, deadline):
        """Answer the kernel's input() request: a call's arguments, a callback, or nothing."""
        if prompt == wire.PAYLOAD_PROMPT:
            return payload
        if not prompt.startswith(wire.CALLBACK_PROMPT):
            return ""  # a student's own input(): no one is there to type
        try:
            request = wire.loads(prompt[len(wire.CALLBACK_PROMPT):], "callback")
            message = wire.message("callback", id=int(request["id"]), args=list(request.get("args", [])),
                                   kwargs=dict(request.get("kwargs", {})))
        except (wire.WireError, KeyError, TypeError, ValueError) as error:
            return wire.dumps(wire.message("callback_result", raised=f"malformed callback request: {error}",
                                           etype="RuntimeError"))
        self._send(message)
        answer = self._receive(deadline, "callback_result")
        return wire.dumps(wire.message("callback_result", **{k: answer[k] for k in
                                                             ("value", "raised", "etype") if k in answer}))

    # ---- one test cell -----------------------------------------------------------
    def judge(self, cell, index):
        """Run test `cell` in the worker; return (verdict message, stderr text of student code)."""
        executor = self.executor
        deadline = time.monotonic() + (executor.timeout or 3600)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        source = self.tests.get(grade_id)
        if source is None:
            raise VerdictError(f"test {grade_id!r} is not in the canonical notebook")
        if not self.ready:
            ready = self._receive(deadline, "ready")
            if ready.get("error"):
                executor.log.warning("verdict worker: the notebook's imports failed: %s", ready["error"])
            self.ready = True
        if not self.agent_ready:
            self._kernel(AGENT_BOOT, deadline)
            self.agent_ready = True
        # the cells run since the last test: which names the kernel, the worker or a test bound
        todo = []
        for other in executor.nb.cells[self.judged_up_to:index]:
            if other.cell_type != "code":
                continue
            other_id = other.metadata.get("nbgrader", {}).get("grade_id")
            kind = instructor_kind(other) or "answer"
            if kind == "test":
                continue
            if kind == "locked" and other_id in self.plan.needed and other_id not in self.sent:
                todo.append(other_id)
            self.bindings.ran(other_id, kind, other.source)
        self.sent.update(todo)
        self.judged_up_to = index + 1
        fetch, deny, forget = self.bindings.test(source)
        self._send(wire.message("test", code=source, cells=self._cells(todo), fetch=fetch, deny=deny,
                                forget=forget, hidden=HIDDEN_MARK in source))
        expired, stderr = False, ""
        while True:
            message = self._receive(deadline + WORKER_GRACE, "verdict", "get", "call")
            expired = expired or time.monotonic() > deadline
            if message["op"] == "verdict":
                break
            if expired:
                expired = True
                reply = (wire.message("values", values={}) if message["op"] == "get" else
                         wire.message("result", raised="the test cell ran past its time limit",
                                      etype="TimeoutError"))
            elif message["op"] == "get":
                reply, _ = self._kernel(f"__nbg_agent.get({message['names']!r})", deadline)
                reply = self._values(reply)
            else:
                reply, written = self._call(message, deadline)
                stderr += written
            self._send(reply)
        if expired:
            message = wire.message("verdict", ok=False, ename="TimeoutError", stdout=message.get("stdout", ""),
                                   evalue=f"the test ran past the {executor.timeout} s limit of a test cell "
                                   "and was stopped")
        return message, stderr

    def _values(self, reply):
        """Return the kernel's answer to a get as a whitelisted message for the worker."""
        try:
            values = (wire.loads(reply, "values") if isinstance(reply, str)
                      else wire.check(reply, "values"))["values"]
        except wire.WireError:
            values = {}
        if not isinstance(values, dict):
            values = {}
        return wire.message("values", values={str(k): v for k, v in values.items()})

    def _call(self, message, deadline):
        """Run one call of the worker's in the kernel; return (whitelisted result, stderr text)."""
        name = message.get("name")
        if not isinstance(name, str) or not (name.isidentifier() or name[1:].isdigit()):
            return wire.message("result", raised="a call to an unknown function", etype="NameError"), ""
        payload = wire.dumps(wire.message("payload", **{k: message[k] for k in
                                                         ("args", "kwargs", "in_place", "context") if k in message}))
        if len(payload) <= INLINE_PAYLOAD:  # saves the input() round trip
            reply, stderr = self._kernel(f"__nbg_agent.call({name!r}, {payload!r})", deadline)
        else:
            reply, stderr = self._kernel(f"__nbg_agent.call({name!r})", deadline, payload)
        try:
            if isinstance(reply, str):
                reply = wire.loads(reply, "result")
            else:
                reply = wire.check(reply, "result")
        except wire.WireError as error:
            return wire.message("result", raised=f"no result came back from the kernel ({error})",
                                etype="RuntimeError"), stderr
        fields = {}
        if "raised" in reply:
            fields["raised"] = wire.text(reply["raised"])
            etype = reply.get("etype")
            fields["etype"] = etype if isinstance(etype, str) and etype.isidentifier() else "RuntimeError"
        elif "value" in reply:
            fields["value"] = reply["value"]
        else:
            return wire.message("result", raised="no result came back from the kernel",
                                etype="RuntimeError"), stderr
        keys = set(range(len(message.get("args", [])))) | set(message.get("kwargs", {}))
        changed = reply.get("changed") if isinstance(reply.get("changed"), list) else []
        fields["changed"] = [k for k in changed if isinstance(k, (int, str)) and k in keys][:50]
        after = reply.get("after") if isinstance(reply.get("after"), list) else []
        allowed = set(message.get("in_place") or [])
        fields["after"] = [pair for pair in after if isinstance(pair, list) and len(pair) == 2
                           and isinstance(pair[0], (int, str)) and pair[0] in allowed]
        return wire.message("result", **fields), stderr

    def close(self):
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        scratch.remove(self.folder)


async def _ensure_async(value):
    return await value if hasattr(value, "__await__") else value


def verdict_outputs(verdict, stderr="", hidden=False):
    """Return the outputs nbgrader will score: what the test printed, then the verdict.

    `stderr`: what the student's code wrote to stderr while the test called it
    (a warning, say). As in the notebook, a test cell with output on stderr
    scores zero; in a cell with hidden tests the text itself is not shown.
    """
    outputs = []
    if verdict.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=str(verdict["stdout"])))
    if stderr:
        shown = "" if hidden else ":\n" + wire.text(stderr, 500)
        outputs.append(new_output("stream", name="stderr", text=(
            "[grader] your code wrote to stderr while this test called it (a warning, for "
            "example); a test cell with output on stderr scores zero" + shown + "\n")))
    if verdict["ok"]:
        outputs.append(new_output("stream", name="stdout", text="[grader] test passed (checked outside your kernel)\n"))
        result = verdict.get("result")
        if isinstance(result, float) and not isinstance(result, bool):
            outputs.append(new_output("execute_result", data={"text/plain": repr(result)}, execution_count=None))
    else:
        ename, evalue = str(verdict.get("ename", "Error")), str(verdict.get("evalue", ""))
        outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
    return outputs
