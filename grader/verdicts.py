"""Trusted verdicts: autograded test cells are decided outside the student's kernel.

After the (confined) kernel has run an autograded test cell, ResilientExecute
hands the cell's source (restored from the gradebook by nbgrader's
OverwriteCells, so never the student's) to a clean worker
(grader/verdict_worker.py, `python -I`, never runs student code). The worker
runs the notebook's import statements itself, then the test. Every other name
the test reads is fetched from the kernel as plain data; student functions
become proxies whose calls run in the kernel and answer with data. The
worker's outcome replaces the cell's outputs, so that is what nbgrader scores.
"""

import json
import os
import subprocess
import sys
import tempfile

from nbformat.v4 import new_code_cell, new_output

MIME = "application/x-nbgrader-trusted+json"
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verdict_worker.py")

# Runs in the student's kernel. Whatever it sends back is only ever parsed as data.
# It mirrors verdict_worker.encode on purpose: grader/ is not visible inside the
# sandbox, so the kernel side cannot import the worker's encoder.
KERNEL_HELPER = r'''
def __nbg_trusted_setup():
    import base64, io, json, math
    import numpy as np
    from IPython import get_ipython
    from IPython.display import publish_display_data
    ns = get_ipython().user_ns
    refs = {}

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
            b = io.BytesIO(); np.save(b, np.ascontiguousarray(v), allow_pickle=False)
            return {"npy": base64.b64encode(b.getvalue()).decode()}
        if isinstance(v, list):
            return [enc(x, d + 1) for x in v]
        if isinstance(v, tuple):
            return {"tuple": [enc(x, d + 1) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[enc(k, d + 1), enc(x, d + 1)] for k, x in v.items()]}
        if callable(v):
            name = "@%%d" %% len(refs); refs[name] = v
            return {"function": name}
        return {"unavailable": type(v).__name__}

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
        return v

    def reply(obj):
        publish_display_data({"%(mime)s": json.dumps(obj)})

    def get(names):
        reply({"values": {n: enc(ns[n]) for n in names if n in ns}})

    def call(name, payload):
        p = json.loads(payload)
        f = refs.get(name) or ns.get(name)
        args = [dec(a) for a in p["args"]]
        try:
            out = f(*args, **{k: dec(v) for k, v in p["kwargs"].items()})
            answer = {"value": enc(out)}
        except BaseException as e:
            answer = {"raised": "%%s: %%s" %% (type(e).__name__, str(e)[:500])}
        answer["args_after"] = [enc(a) if isinstance(a, np.ndarray) else None for a in args]
        reply(answer)

    return get, call

__nbg_trusted_get, __nbg_trusted_call = __nbg_trusted_setup()
del __nbg_trusted_setup
''' % {"mime": MIME}


class VerdictError(RuntimeError):
    """The verdict machinery itself failed (not the student's answer)."""


class Verdicts:
    """One clean worker per notebook; `judge` decides one test cell."""

    def __init__(self, executor, setup_code, max_bytes=64 * 2**20):
        self.executor = executor  # the ResilientExecute running the notebook
        self.max_bytes = max_bytes
        self.received = 0
        self.helper_ready = False
        self.folder = tempfile.mkdtemp(prefix="nbg-verdict-")
        env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", WORKER], cwd=self.folder, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._send({"op": "setup", "code": setup_code})
        ready = self._receive()
        if ready.get("error"):
            executor.log.warning("verdict worker: the notebook's imports failed: %s", ready["error"])

    def _send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def _receive(self):
        line = self.proc.stdout.readline()
        if not line:
            raise VerdictError("the verdict worker stopped")
        return json.loads(line)

    def _kernel(self, code, index):
        """Run `code` in the student's kernel; return its trusted-channel reply, or None."""
        cell = new_code_cell(code)
        cells = self.executor.nb.cells
        original = cells[index]
        self.executor._verdict_channel = True
        try:
            self.executor.execute_cell(cell, index, store_history=False)
        finally:
            self.executor._verdict_channel = False
            cells[index] = original  # nbclient stores the executed cell at `index`
        for output in cell.outputs:
            data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
            if MIME in data:
                text = data[MIME]
                self.received += len(text)
                if self.received > self.max_bytes or not isinstance(text, str):
                    return None
                try:
                    return json.loads(text)
                except ValueError:
                    return None
        return None

    def judge(self, cell, index):
        """Re-run test `cell` in the worker; return (ok, ename, evalue, result)."""
        if not self.helper_ready:
            self._kernel(KERNEL_HELPER, index)
            self.helper_ready = True
        self._send({"op": "test", "code": cell.source})
        while True:
            message = self._receive()
            if message["op"] == "verdict":
                return message
            if message["op"] == "get":
                names = [n for n in message["names"] if n.isidentifier()]
                reply = self._kernel(f"__nbg_trusted_get({names!r})", index) if names else {}
                self._send(reply if isinstance(reply, dict) else {"values": {}})
            elif message["op"] == "call":
                payload = json.dumps({"args": message["args"], "kwargs": message["kwargs"]})
                name = message["name"]
                reply = self._kernel(f"__nbg_trusted_call({name!r}, {payload!r})", index)
                if not isinstance(reply, dict) or ("value" not in reply and "raised" not in reply):
                    reply = {"raised": "no result came back from the kernel"}
                self._send(reply)

    def close(self):
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def import_statements(nb):
    """Return the top-level import statements of the notebook's locked cells, as code."""
    import ast

    lines = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("locked") or meta.get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lines.append(ast.unparse(node))
    return "\n".join(lines)


def verdict_outputs(cell, verdict):
    """Return the outputs nbgrader will score: the kernel's stdout, then the verdict."""
    kept = [o for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout"]
    if verdict["ok"]:
        kept.append(new_output("stream", name="stdout", text="[grader] test passed (checked outside your kernel)\n"))
        result = verdict.get("result")
        if isinstance(result, float) and not isinstance(result, bool):
            kept.append(new_output("execute_result", data={"text/plain": repr(result)}, execution_count=None))
    else:
        ename, evalue = verdict.get("ename", "Error"), verdict.get("evalue", "")
        kept.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
    return kept
