"""The clean verdict worker: re-runs autograded test cells outside the student's kernel.

Started by grader.verdicts as `python -I verdict_worker.py` in an empty folder:
-I ignores PYTHONPATH, the user site and the current folder, so nothing a
submission dropped (numpy.py, utils/) can shadow a module here, and this process
never runs student code. Protocol: JSON lines on stdin/stdout.

  grader -> worker  {"op": "setup", "code": "<import statements>"}
  grader -> worker  {"op": "test", "code": "<test cell source>"}
  worker -> grader  {"op": "get", "names": [...]}          values from the kernel
  worker -> grader  {"op": "call", "name": n, "args": [...], "kwargs": {...}}
  grader -> worker  {"value": <encoded>} | {"values": {...}} | {"raised": "..."}
  worker -> grader  {"op": "verdict", "ok": bool, "ename": .., "evalue": .., "result": ..}

Values cross as data only (see `decode`): None, bool, int, float, str, lists,
tuples, dicts of those, and numeric numpy arrays as .npy bytes loaded with
allow_pickle=False. Student functions become proxies whose calls run in the
kernel and return data. A patched numpy, a lying __eq__ or a fake `utils` in
the kernel therefore cannot reach the assertions evaluated here.
"""

import ast
import base64
import builtins
import io
import json
import resource
import sys
import traceback

resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
import numpy as np  # noqa: E402

MAX_ELEMENTS = 20_000_000
_in, _out = sys.stdin, sys.stdout
sys.stdout = sys.stderr  # prints from test code must not corrupt the protocol


class StudentError(Exception):
    """The student's function raised (in the kernel) when the test called it."""


class Unavailable(Exception):
    """A value the test needs could not be transferred as data."""


def send(message):
    _out.write(json.dumps(message) + "\n")
    _out.flush()


def receive():
    line = _in.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def decode(value, depth=0):
    """Turn transferred data back into Python values; reject anything else."""
    if depth > 20:
        raise Unavailable("value nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise Unavailable("malformed value")
    (tag, body), = value.items()
    if tag == "npy":
        raw = base64.b64decode(body, validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
        if type(array) is not np.ndarray or array.dtype.kind not in "biufcU" or array.dtype.fields:
            raise Unavailable(f"array of dtype {array.dtype} is not plain data")
        if array.size > MAX_ELEMENTS:
            raise Unavailable("array too large")
        return array
    if tag == "tuple":
        return tuple(decode(v, depth + 1) for v in body)
    if tag == "dict":
        return {decode(k, depth + 1): decode(v, depth + 1) for k, v in body}
    if tag == "float":  # nan, inf
        return float(body)
    if tag == "function":
        return Proxy(body)
    if tag == "unavailable":
        return Opaque(body)
    raise Unavailable(f"unknown value tag {tag!r}")


def encode(value, depth=0):
    """Turn call arguments into data for the kernel."""
    if depth > 20:
        raise Unavailable("argument nested too deeply")
    if isinstance(value, (np.generic,)):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"npy": base64.b64encode(buffer.getvalue()).decode()}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, Proxy):
        return {"function": value._name}
    raise Unavailable(f"cannot pass a {type(value).__name__} to the student's code")


class Opaque:
    """A kernel value that is not plain data: any use of it fails the test."""

    def __init__(self, what):
        self._what = what

    def _fail(self, *args, **kwargs):
        raise Unavailable(f"the value {self._what} is not plain data, so it cannot be checked")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __float__ = _fail
    __int__ = __len__ = __iter__ = __getitem__ = __call__ = __array__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _fail
    __hash__ = None

    def __getattr__(self, name):
        self._fail()


class Proxy:
    """A student function (or class): calling it runs it in the kernel, on copies of data."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"<student function {self._name}>"

    def __call__(self, *args, **kwargs):
        request = {"op": "call", "name": self._name,
                   "args": [encode(a) for a in args],
                   "kwargs": {k: encode(v) for k, v in kwargs.items()}}
        send(request)
        reply = receive()
        if "raised" in reply:
            raise StudentError(reply["raised"])
        # in-place changes the function made to array arguments are copied back
        for arg, after in zip(args, reply.get("args_after", [])):
            if isinstance(arg, np.ndarray) and after is not None:
                after = decode(after)
                if isinstance(after, np.ndarray) and after.shape == arg.shape:
                    arg[...] = after
        return decode(reply["value"])


def free_names(code):
    """Return the names a cell reads, in order (builtins excluded)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return [n for n in names if not hasattr(builtins, n)]


def run_test(code, base):
    namespace = dict(base)
    wanted = [n for n in free_names(code) if n not in namespace]
    if wanted:
        send({"op": "get", "names": wanted})
        reply = receive()
        for name, value in reply.get("values", {}).items():
            if name in wanted:
                try:
                    namespace[name] = decode(value)
                except Unavailable as error:
                    namespace[name] = Opaque(f"`{name}` ({error})")
    tree = ast.parse(code)
    result = None
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body = tree.body[:-1]
    exec(compile(tree, "<test>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<test>", "eval"), namespace)
        if isinstance(value, (bool, int, float, np.number, np.bool_)):
            result = float(value)
        elif value is not None:
            result = repr(value)[:200] if isinstance(value, (str, list, tuple)) else None
    return result


def main():
    base = {"__name__": "__test__", "__builtins__": builtins}
    while True:
        request = receive()
        if request["op"] == "setup":
            try:
                exec(request["code"], base)
                send({"op": "ready"})
            except Exception as error:  # noqa: BLE001
                send({"op": "ready", "error": f"{type(error).__name__}: {error}"})
        elif request["op"] == "test":
            try:
                result = run_test(request["code"], base)
                send({"op": "verdict", "ok": True, "result": result})
            except StudentError as error:
                send({"op": "verdict", "ok": False, "ename": "StudentCodeError",
                      "evalue": f"your code raised {error}"})
            except Exception as error:  # noqa: BLE001
                evalue = str(error)
                if isinstance(error, NameError):
                    evalue += " (not defined in your notebook, or not plain data)"
                send({"op": "verdict", "ok": False, "ename": type(error).__name__,
                      "evalue": evalue, "trace": traceback.format_exc(limit=-3)})


if __name__ == "__main__":
    main()
