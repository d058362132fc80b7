"""Trusted verdicts: autograded test cells are decided outside the student's kernel.

ResilientExecute does not run an autograded test cell in the student's kernel.
It hands the cell's source (restored from the gradebook by nbgrader's
OverwriteCells, so never the student's) to a clean worker
(grader/verdict_worker.py, `python -I`, never runs student code), which runs
the notebook's import statements itself and then the test, once. Every other
name the test reads is fetched from the kernel as data; student functions
become proxies whose calls run in the kernel and answer with data; a function
of the test handed to student code stays in the worker, and the kernel calls
back into it through Jupyter's stdin channel. The worker's outcome (what the
test printed, then a pass line or the error) becomes the cell's outputs, so
that is what nbgrader scores.
"""

import ast
import builtins
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import zmq
import zmq.asyncio
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output

MIME = "application/x-nbgrader-trusted+json"
CALLBACK = "nbgrader-trusted-callback:"  # prefix of the kernel's input() requests to the grader
PAYLOAD = "nbgrader-trusted-payload"  # the kernel's input() request for a call's arguments
INLINE_PAYLOAD = 8192  # arguments up to this many characters go in the code itself
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verdict_worker.py")

# Runs in the student's kernel. Whatever it sends back is only ever parsed as data.
# It mirrors verdict_worker's encode/decode on purpose: grader/ is not visible inside
# the sandbox, so the kernel side cannot import the worker's code.
KERNEL_HELPER = r'''
def __nbg_trusted_setup():
    import base64, builtins, io, json, math
    import numpy as np
    from IPython import get_ipython
    from IPython.display import publish_display_data
    shell = get_ipython()
    ns, kernel = shell.user_ns, shell.kernel
    refs = {}
    try:
        from utils.mlp import MLP
    except Exception:
        MLP = None

    def enc(v, d=0):
        if d > 20:
            return {"unavailable": "nested too deeply"}
        if isinstance(v, np.generic):
            v = v.item()
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            return float(v) if math.isfinite(v) else {"float": repr(float(v))}
        if isinstance(v, np.ndarray):
            b = io.BytesIO(); np.save(b, v, allow_pickle=False)
            return {"npy": base64.b64encode(b.getvalue()).decode()}
        if isinstance(v, list):
            return [enc(x, d + 1) for x in v]
        if isinstance(v, tuple):
            return {"tuple": [enc(x, d + 1) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[enc(k, d + 1), enc(x, d + 1)] for k, x in v.items()]}
        if isinstance(v, np.random.Generator):
            return {"rng": v.bit_generator.state}
        if MLP is not None and isinstance(v, MLP):
            return {"mlp": {
                "sizes": [int(s) for s in v.sizes],
                "activations": [str(l.activation.name) for l in v.layers],
                "loss": str(v.loss.name), "init": v.init if isinstance(v.init, str) else None,
                "seed": v.seed if isinstance(v.seed, int) else None,
                "_theta": enc(v._theta), "_dtheta": enc(v._dtheta),
                "caches": [[enc(getattr(l, k, None), d + 1) for k in "XZA"] for l in v.layers]}}
        if callable(v):
            name = "@%d" % len(refs); refs[name] = v
            return {"function": name}
        return {"unavailable": type(v).__name__}

    def load(net, b):
        net._theta[...] = dec(b["_theta"]); net._dtheta[...] = dec(b["_dtheta"])
        for l, c in zip(net.layers, b["caches"]):
            l.X, l.Z, l.A = (dec(x) for x in c)

    def dec(v):
        if isinstance(v, list):
            return [dec(x) for x in v]
        if isinstance(v, dict):
            (t, b), = v.items()
            if t == "npy":
                return np.load(io.BytesIO(base64.b64decode(b)), allow_pickle=False)
            if t == "tuple":
                return tuple(dec(x) for x in b)
            if t == "dict":
                return {dec(k): dec(x) for k, x in b}
            if t == "float":
                return float(b)
            if t == "function":
                return refs.get(b) or ns.get(b)
            if t == "callback":
                return callback(b)
            if t == "rng":
                g = np.random.Generator(getattr(np.random, b["bit_generator"])())
                g.bit_generator.state = b
                return g
            if t == "mlp":
                net = MLP(b["sizes"], b["activations"], loss=b["loss"], init="zeros")
                net.init, net.seed = b["init"], b["seed"]
                load(net, b)
                for k, f in b["overrides"].items():
                    setattr(net, k, dec(f))
                return net
        return v

    def error(etype, message):
        cls = getattr(builtins, etype or "", None)
        ok = isinstance(cls, type) and issubclass(cls, Exception)
        return (cls if ok else RuntimeError)(message)

    def callback(cid):
        def test_function(*args, **kwargs):
            request = {"id": cid, "args": [enc(a) for a in args],
                       "kwargs": {k: enc(x) for k, x in kwargs.items()}}
            answer = json.loads(kernel.raw_input("@CALLBACK@" + json.dumps(request)))
            if "raised" in answer:
                raise error(answer.get("etype"), answer["raised"])
            return dec(answer["value"])
        return test_function

    def reply(obj):
        publish_display_data({"@MIME@": json.dumps(obj)})

    def get(names):
        reply({"values": {n: enc(ns[n]) for n in names if n in ns}})

    def after(a):
        kinds = (np.ndarray, np.random.Generator) + ((MLP,) if MLP is not None else ())
        return enc(a) if isinstance(a, kinds) else None

    def call(name, payload=None):
        # large arguments come over stdin: inlined in the code, they would pass through
        # IPython's input transformers and the compiler (0.3 s per MB)
        p = json.loads(kernel.raw_input("@PAYLOAD@") if payload is None else payload)
        f = refs.get(name) or ns.get(name)
        args = [dec(a) for a in p["args"]]
        # arrays the call left unchanged are not sent back
        copies = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
        try:
            out = f(*args, **{k: dec(v) for k, v in p["kwargs"].items()})
            answer = {"value": enc(out)}
        except BaseException as e:
            answer = {"raised": "%s: %s" % (type(e).__name__, str(e)[:500]), "etype": type(e).__name__}
        answer["args_after"] = [
            None if c is not None and c.shape == a.shape and c.tobytes() == a.tobytes()
            else after(a) for a, c in zip(args, copies)]
        reply(answer)

    return get, call

__nbg_trusted_get, __nbg_trusted_call = __nbg_trusted_setup()
del __nbg_trusted_setup
'''.replace("@MIME@", MIME).replace("@CALLBACK@", CALLBACK).replace("@PAYLOAD@", PAYLOAD)


class VerdictError(RuntimeError):
    """The verdict machinery itself failed (not the student's answer)."""


def assigned_names(source):
    """Return the names a cell binds anywhere (assignments, defs, imports, function locals)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


class _TopLevel(ast.NodeVisitor):
    """Collect the names a module binds at its top level (not inside functions or lambdas)."""

    def __init__(self):
        self.binds = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.binds.add(node.id)

    def visit_FunctionDef(self, node):
        self.binds.add(node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_Import(self, node):
        self.binds.update((alias.asname or alias.name).split(".")[0] for alias in node.names)

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node):
        if node.name:
            self.binds.add(node.name)
        self.generic_visit(node)


def cell_names(source):
    """Return (binds, reads) of a cell, or None if it is not plain Python.

    binds: the names it binds at top level. reads: the names it reads that it
    does not bind anywhere itself (builtins excluded).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    top = _TopLevel()
    top.visit(tree)
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return top.binds, loads - assigned_names(source) - set(dir(builtins))


def instructor_kind(cell):
    """Return "test" or "locked" for a code cell whose source is the instructor's, else None.

    Relies on grader.preprocessors.RestoreMissingCells having run (the course's
    sanitize step): it strips nbgrader metadata the gradebook does not know,
    sets `grade`, `solution` and `locked` of known cells from the gradebook,
    and restores the source of locked cells. So a cell with a grade_id and
    `locked` true holds the instructor's source; a student cannot forge one by
    writing the metadata of a new cell or by relabelling a cell. Only such
    cells may ever run in the verdict worker.
    """
    meta = cell.metadata.get("nbgrader", {})
    if (cell.cell_type != "code" or not meta.get("grade_id") or meta.get("locked") is not True
            or meta.get("solution")):
        return None
    return "test" if meta.get("grade") else "locked"


def plan(nb, imports):
    """Decide, for the notebook's locked non-test cells, who computes the names they bind.

    A locked cell that reads only imports and names of earlier such cells does
    not depend on the student's code: the worker runs it itself (if a test
    needs what it computes), so the kernel's copy is never trusted. A locked
    cell that calls student code, or is not plain Python, is computed in the
    kernel; the names it binds are denied to tests, which must call the
    student's functions themselves. Locked cells are restored from the
    gradebook before this runs, so their source is the instructor's.

    Returns {cell index: (source, binds)} of the cells the worker runs, the
    indices of those it may run as soon as it starts, and {cell index: names
    denied from that cell on}.
    """
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    kinds, names = {}, {}
    for index, cell in cells:
        kinds[index] = instructor_kind(cell) or "student"
        names[index] = cell_names(cell.source)
    pure, protected = {}, set()
    for index, _ in cells:
        if kinds[index] == "locked" and names[index] is not None and names[index][1] <= imports | protected:
            pure[index] = names[index]
            protected |= names[index][0]
        elif kinds[index] == "locked":
            protected -= names[index][0] if names[index] else set()
    # run only the pure cells that bind what some test reads (and what those cells read)
    needed = set()
    for index, _ in cells:
        if kinds[index] == "test" and names[index] is not None:
            needed |= names[index][1] - imports
    relevant, changed = set(), True
    while changed:
        changed = False
        for index, (binds, reads) in pure.items():
            if index not in relevant and binds & needed:
                relevant.add(index)
                needed |= reads - imports
                changed = True
    run = {i: (nb.cells[i].source, sorted(pure[i][0])) for i in sorted(relevant)}
    # a cell whose names that tests read are bound nowhere else may run at once, with the
    # notebook's start, in parallel with the kernel
    bound_elsewhere = {}
    for index, cell in cells:
        for name in names[index][0] if names[index] else assigned_names(cell.source):
            bound_elsewhere[name] = bound_elsewhere.get(name, 0) + 1
    early = {i for i in relevant if all(bound_elsewhere[n] == 1 for n in pure[i][0] & needed)}
    denied, deny = {}, set()
    for index, _ in cells:
        if kinds[index] == "locked" and index not in pure:
            deny |= names[index][0] if names[index] else set()
        elif index in pure:
            deny -= pure[index][0]
        denied[index] = set(deny)
    return run, early, denied


def untrusted_reads(nb):
    """Return {test grade_id: [names]} for tests that read names `plan` denies them.

    Such a test would fail under trusted verdicts whatever the student wrote:
    it reads a value that locked cells computed from student code. The release
    check reports them, so the test can be rewritten to call the functions.
    """
    _, _, denied = plan(nb, assigned_names(import_statements(nb)))
    found = {}
    for index, cell in enumerate(nb.cells):
        if instructor_kind(cell) == "test":
            names = cell_names(cell.source)
            bad = sorted(names[1] & denied[index]) if names else []
            if bad:
                found[cell.metadata["nbgrader"]["grade_id"]] = bad
    return found


class Verdicts:
    """One clean worker per notebook; `judge` decides one test cell."""

    def __init__(self, executor, max_bytes=64 * 2**20):
        self.executor = executor  # the ResilientExecute running the notebook
        nb = executor.nb
        self.run, self.early, self.denied = plan(nb, assigned_names(import_statements(nb)))
        # the worker imports only what the tests and the cells it runs read
        reads = set()
        for source in [c.source for c in nb.cells if instructor_kind(c) == "test"] + [
                source for source, _ in self.run.values()]:
            reads |= (cell_names(source) or (set(), set()))[1]
        setup_code = import_statements(nb, reads)
        self.max_bytes = max_bytes
        self.received = 0
        self.helper_ready = False
        self.folder = tempfile.mkdtemp(prefix="nbg-verdict-")
        env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", WORKER], cwd=self.folder, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._send({"op": "setup", "code": setup_code})
        self.ready = False  # the worker's answer to setup is read by the first judge
        self.judged_up_to = 0  # cells before this index have been accounted for
        self.sent = set()  # the instructor's cells already sent to the worker
        # the instructor's cells above the first test start at once
        first = next((i for i, c in enumerate(executor.nb.cells) if instructor_kind(c) == "test"),
                     len(executor.nb.cells))
        self._send({"op": "cells", "cells": self._cells_before(first, self.early)})
        self.judged_up_to = first  # the cells before it are accounted for, except `forget`
        self.forget = set()
        for other in executor.nb.cells[:first]:
            if other.cell_type == "code":
                self.forget |= assigned_names(other.source)

    def _cells_before(self, index, early=()):
        """Return the cells the worker runs itself from judged_up_to to `index`, and `early`."""
        todo = [at for at in self.run if self.judged_up_to <= at < index or at in early]
        todo = [at for at in todo if at not in self.sent]
        self.sent.update(todo)
        return [{"code": self.run[at][0], "binds": self.run[at][1]} for at in todo]

    def _send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def _receive(self):
        line = self.proc.stdout.readline()
        if not line:
            raise VerdictError("the verdict worker stopped")
        return json.loads(line)

    def _callback(self, prompt):
        """Pass a callback request from the kernel to the worker; return its answer as text."""
        try:
            request = json.loads(prompt[len(CALLBACK):])
            message = {"op": "callback", "id": int(request["id"]),
                       "args": list(request["args"]), "kwargs": dict(request["kwargs"])}
        except (ValueError, KeyError, TypeError):
            return json.dumps({"raised": "malformed callback request", "etype": "RuntimeError"})
        self._send(message)
        answer = self._receive()
        if answer.get("op") != "callback_result":
            raise VerdictError(f"the verdict worker answered a callback with {answer.get('op')!r}")
        answer.pop("op")
        return json.dumps(answer)

    def _kernel(self, code, payload=""):
        """Run `code` in the student's kernel; return its trusted-channel reply, or None.

        `payload` is the answer to the kernel's first input() request for it.
        """
        return run_sync(self._async_kernel)(code, payload)

    async def _async_kernel(self, code, payload=""):
        """Execute `code` with stdin allowed, answering callback requests, under the cell timeout.

        nbclient neither answers input requests nor lets a cell do so, so this is a
        small message loop of its own: iopub for the reply and the kernel's state,
        stdin for callbacks, shell for the execute reply. A kernel that dies raises
        DeadKernelError; one that runs past the timeout is interrupted and, if it
        still does not finish, raises CellTimeoutError (ResilientExecute handles both).
        """
        executor = self.executor
        kc = executor.kc
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=True, stop_on_error=False)
        channels = {kc.iopub_channel.socket: kc.iopub_channel, kc.stdin_channel.socket: kc.stdin_channel,
                    kc.shell_channel.socket: kc.shell_channel}
        poller = zmq.asyncio.Poller()
        for socket in channels:
            poller.register(socket, zmq.POLLIN)
        timeout = executor.timeout or 3600
        deadline, interrupted = time.monotonic() + timeout, False
        result, idle, replied = None, False, False
        while not (idle and replied):
            if time.monotonic() > deadline:
                if interrupted:
                    raise CellTimeoutError(f"a test's call into student code ran past {timeout} s")
                await _ensure_async(executor.km.interrupt_kernel())
                deadline, interrupted = time.monotonic() + 10, True
            ready = dict(await poller.poll(1000))
            if not ready:
                if not await _alive(executor.km):
                    raise DeadKernelError("the kernel died while the grader was checking a test")
                continue
            for socket in ready:
                channel = channels[socket]
                msg = await channel.get_msg(timeout=0)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if channel is kc.stdin_channel and kind == "input_request":
                    prompt = content.get("prompt", "")
                    if prompt.startswith(CALLBACK):
                        kc.input(self._callback(prompt))
                    else:
                        kc.input(payload if prompt == PAYLOAD else "")
                        payload = ""  # given once
                elif channel is kc.shell_channel:
                    replied = True
                elif kind == "status":
                    idle = content.get("execution_state") == "idle"
                elif kind == "display_data" and result is None and MIME in content.get("data", {}):
                    text = content["data"][MIME]
                    self.received += len(text) if isinstance(text, str) else 0
                    if isinstance(text, str) and self.received <= self.max_bytes:
                        try:
                            result = json.loads(text)
                        except ValueError:
                            result = None
        if interrupted and isinstance(result, dict) and "raised" in result:
            result["raised"] = f"TimeoutError: it ran past the {timeout} s limit and was interrupted"
            result["etype"] = "TimeoutError"
        return result

    def judge(self, cell, index):
        """Re-run test `cell` in the worker; return its verdict message."""
        if not self.ready:
            ready = self._receive()
            if ready.get("error"):
                self.executor.log.warning("verdict worker: the notebook's imports failed: %s",
                                          ready["error"])
            self.ready = True
        if not self.helper_ready:
            self._kernel(KERNEL_HELPER)
            self.helper_ready = True
        # names bound by the student's and demo cells since the last test are fetched afresh;
        # the instructor's cells that do not depend on student code are run by the worker
        forget, cells = self.forget, self._cells_before(index)
        for other in self.executor.nb.cells[self.judged_up_to:index]:
            if other.cell_type == "code":
                forget |= assigned_names(other.source)
        self.judged_up_to, self.forget = index + 1, set()
        deny = sorted(self.denied.get(index, ()))
        self._send({"op": "test", "code": cell.source, "forget": sorted(forget), "cells": cells,
                    "deny": deny})
        while True:
            message = self._receive()
            if message["op"] == "verdict":
                return message
            if message["op"] == "get":
                names = [n for n in message["names"] if n.isidentifier()]
                reply = self._kernel(f"__nbg_trusted_get({names!r})") if names else {}
                self._send(reply if isinstance(reply, dict) else {"values": {}})
            elif message["op"] == "call":
                payload = json.dumps({"args": message["args"], "kwargs": message["kwargs"]})
                name = message["name"]
                if len(payload) <= INLINE_PAYLOAD:  # saves the input() round trip
                    reply = self._kernel(f"__nbg_trusted_call({name!r}, {payload!r})")
                else:
                    reply = self._kernel(f"__nbg_trusted_call({name!r})", payload)
                if not isinstance(reply, dict) or ("value" not in reply and "raised" not in reply):
                    reply = {"raised": "no result came back from the kernel"}
                self._send(reply)

    def close(self):
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


async def _ensure_async(value):
    return await value if hasattr(value, "__await__") else value


async def _alive(km):
    return await _ensure_async(km.is_alive())


def import_statements(nb, wanted=None):
    """Return the top-level import statements of the notebook's locked cells, as code.

    With `wanted`, only the statements that bind one of those names.
    """
    lines = []
    for cell in nb.cells:
        if instructor_kind(cell) != "locked":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if wanted is not None:
                node.names = [alias for alias in node.names
                              if (alias.asname or alias.name).split(".")[0] in wanted]
            if node.names:
                lines.append(ast.unparse(node))
    return "\n".join(lines)


def verdict_outputs(verdict):
    """Return the outputs nbgrader will score: what the test printed, then the verdict."""
    outputs = []
    if verdict.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=str(verdict["stdout"])))
    if verdict["ok"]:
        outputs.append(new_output("stream", name="stdout", text="[grader] test passed (checked outside your kernel)\n"))
        result = verdict.get("result")
        if isinstance(result, float) and not isinstance(result, bool):
            outputs.append(new_output("execute_result", data={"text/plain": repr(result)}, execution_count=None))
    else:
        ename, evalue = verdict.get("ename", "Error"), verdict.get("evalue", "")
        outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
    return outputs
