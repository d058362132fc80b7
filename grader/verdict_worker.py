"""The clean verdict worker: re-runs autograded test cells outside the student's kernel.

Started by grader.verdicts as `python -I verdict_worker.py` in an empty folder:
-I ignores PYTHONPATH, the user site and the current folder, so nothing a
submission dropped (numpy.py, utils/) can shadow a module here, and this process
never runs student code. Protocol: JSON lines on stdin/stdout.

  grader -> worker  {"op": "setup", "code": "<import statements>"}   -> {"op": "ready"}
  grader -> worker  {"op": "cells", "cells": [{"code": .., "binds": [..]}]}   (no answer)
  grader -> worker  {"op": "test", "code": "<test cell source>", "forget": [names],
                     "cells": [..], "deny": [names]}
  worker -> grader  {"op": "get", "names": [...]}          values from the kernel
  worker -> grader  {"op": "call", "name": n, "args": [...], "kwargs": {...}}
  grader -> worker  {"value": ..} | {"values": {..}} | {"raised": .., "etype": ..}
  grader -> worker  {"op": "callback", "id": n, "args": [...], "kwargs": {...}}
  worker -> grader  {"op": "callback_result", "value": ..} | {.., "raised": ..}
  worker -> grader  {"op": "verdict", "ok": bool, "ename": .., "evalue": .., "result": ..}

Values cross as data only (see `decode`): None, bool, int, float, str, lists,
tuples, dicts of those, numeric numpy arrays as .npy bytes loaded with
allow_pickle=False, random Generators as their bit-generator state, and
`utils.MLP` networks as sizes, activation and loss names and parameter arrays,
rebuilt here with the real class. Student functions become proxies whose calls
run in the kernel and return data; a function of the test passed to student
code stays here, and the kernel calls back into it. A patched numpy, a lying
__eq__, a fake `utils` or an overridden method in the kernel therefore cannot
reach the assertions evaluated here.

Names a test assigns stay defined for later tests, as they would in the
kernel. The instructor's cells that do not depend on student code (data,
reference functions: grader.verdicts.plan) are run here, and what they bind is
never taken from the kernel; names bound by instructor cells that call student
code are denied. Every other name a test reads is fetched from the kernel.
"""

import ast
import base64
import builtins
import io
import json
import resource
import sys
import types

resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
import numpy as np  # noqa: E402

MAX_ELEMENTS = 20_000_000
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "SFC64", "Philox")
_in, _out = sys.stdin, sys.stdout
sys.stdout = sys.stderr  # prints must never corrupt the protocol on _out


class StudentError(Exception):
    """The student's function raised (in the kernel) when the test called it."""


class Unavailable(Exception):
    """A value the test needs could not be transferred as data."""


_student_errors = {}


def student_error(etype, message):
    """Return the exception to raise for a student function that raised `etype`.

    A builtin exception type is kept, so that a test can expect a ValueError
    from the student's code; it is also a StudentError, so the verdict says
    whose code raised it.
    """
    base = getattr(builtins, etype or "", None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or issubclass(base, StudentError):
        return StudentError(message)
    if etype not in _student_errors:
        _student_errors[etype] = type(etype, (base, StudentError), {"__module__": "builtins"})
    return _student_errors[etype](message)


def send(message):
    _out.write(json.dumps(message) + "\n")
    _out.flush()


def receive():
    line = _in.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def _mlp_class():
    from utils.mlp import MLP

    return MLP


def _generator(state):
    if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
        raise Unavailable("random generator of an unknown kind")
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise Unavailable(f"random generator state: {error}") from None
    return generator


def _load_mlp(net, body):
    """Copy parameters, gradients and caches from transferred data into `net`, in place."""
    for name in ("_theta", "_dtheta"):
        value = decode(body[name])
        target = getattr(net, name)
        if not isinstance(value, np.ndarray) or value.shape != target.shape:
            raise Unavailable("network parameters of the wrong size")
        target[...] = value
    caches = body.get("caches", [])
    for layer, cache in zip(net.layers, caches if len(caches) == len(net.layers) else []):
        layer.X, layer.Z, layer.A = (decode(c) for c in cache)


def _mlp(body):
    """Rebuild a network sent by the kernel with the real utils.MLP (no methods travel)."""
    sizes, names, loss = body.get("sizes"), body.get("activations"), body.get("loss")
    if not (isinstance(sizes, list) and all(type(s) is int and 0 < s <= 100_000 for s in sizes)
            and isinstance(names, list) and all(isinstance(n, str) for n in names)
            and isinstance(loss, str)):
        raise Unavailable("malformed network")
    try:
        net = _mlp_class()(sizes, list(names), loss=loss, init="zeros")
    except (ValueError, KeyError, TypeError) as error:
        raise Unavailable(f"network: {error}") from None
    net.init = body.get("init") if isinstance(body.get("init"), str) else net.init
    net.seed = body.get("seed") if type(body.get("seed")) is int else net.seed
    _load_mlp(net, body)
    return net


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
    if tag == "rng":
        return _generator(body)
    if tag == "mlp":
        return _mlp(body)
    if tag == "unavailable":
        return Opaque(body)
    raise Unavailable(f"unknown value tag {tag!r}")


_callbacks = []  # functions of the test that student code may call back
_in_callback = False


def _is_function(value):
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                              np.ufunc, Proxy))


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
    if isinstance(value, np.random.Generator):
        return {"rng": value.bit_generator.state}
    if type(value).__name__ == "MLP" and isinstance(value, _mlp_class()):
        return {"mlp": _encode_mlp(value, depth)}
    if _is_function(value):
        _callbacks.append(value)
        return {"callback": len(_callbacks) - 1}
    raise Unavailable(f"cannot pass a {type(value).__name__} to the student's code")


def _encode_mlp(net, depth):
    body = {
        "sizes": list(net.sizes),
        "activations": [layer.activation.name for layer in net.layers],
        "loss": net.loss.name, "init": net.init, "seed": net.seed,
        "_theta": encode(net._theta), "_dtheta": encode(net._dtheta),
        "caches": [[encode(getattr(layer, k), depth + 1) for k in "XZA"] for layer in net.layers],
    }
    # methods the test replaced on this network (e.g. a guard against shortcuts) travel
    # as callbacks; the kernel never sends methods back
    body["overrides"] = {k: encode(v, depth + 1) for k, v in vars(net).items() if _is_function(v)}
    return body


def _copy_back(arg, after):
    """Apply to `arg` the in-place changes the student's function made to its copy."""
    try:
        if isinstance(arg, np.ndarray):
            after = decode(after)
            if isinstance(after, np.ndarray) and after.shape == arg.shape:
                arg[...] = after
        elif isinstance(arg, np.random.Generator) and isinstance(after, dict) and "rng" in after:
            arg.bit_generator.state = _generator(after["rng"]).bit_generator.state
        elif isinstance(after, dict) and "mlp" in after and hasattr(arg, "_theta"):
            _load_mlp(arg, after["mlp"])
    except Unavailable:
        pass


def _run_callback(request):
    """Run a test function that the student's code called (in the kernel) with data."""
    global _in_callback
    _in_callback = True
    try:
        function = _callbacks[int(request["id"])]
        args = [decode(a) for a in request.get("args", [])]
        kwargs = {k: decode(v) for k, v in request.get("kwargs", {}).items()}
        answer = {"op": "callback_result", "value": encode(function(*args, **kwargs))}
    except Exception as error:  # noqa: BLE001 -- reported to the student's code, as raised
        answer = {"op": "callback_result", "raised": f"{type(error).__name__}: {error}"[:2000],
                  "etype": type(error).__name__}
    finally:
        _in_callback = False
    send(answer)


class Opaque:
    """A value the test cannot have (not plain data, or not trusted): any use fails the test."""

    def __init__(self, what, why="is not plain data"):
        self._message = f"the value {what} {why}, so it cannot be checked"

    def _fail(self, *args, **kwargs):
        raise Unavailable(self._message)

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
        if _in_callback:
            raise Unavailable("a test function called back from student code cannot call student code")
        request = {"op": "call", "name": self._name,
                   "args": [encode(a) for a in args],
                   "kwargs": {k: encode(v) for k, v in kwargs.items()}}
        send(request)
        reply = receive()
        while reply.get("op") == "callback":
            _run_callback(reply)
            reply = receive()
        for arg, after in zip(args, reply.get("args_after", [])):
            if after is not None:
                _copy_back(arg, after)
        if "raised" in reply:
            raise student_error(reply.get("etype"), reply["raised"])
        return decode(reply["value"])


def free_names(code):
    """Return the names a cell reads, in order (builtins excluded)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return [n for n in names if not hasattr(builtins, n)]


def run_cells(cells, namespace, protected):
    """Run the instructor's cells that do not depend on student code, quietly, here.

    What they bind is protected: never fetched from the kernel. A cell that
    fails leaves its names as opaque values, so a test that needs them fails.
    """
    import warnings

    for cell in cells:
        sys.stdout = io.StringIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(cell["code"], "<notebook cell>", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 -- the test that needs these names fails
            for name in cell["binds"]:
                namespace[name] = Opaque(f"`{name}`", "could not be computed: the notebook cell "
                                         f"defining it failed in the grader ({type(error).__name__}: {error})")
        finally:
            sys.stdout = sys.stderr
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")
        protected.update(cell["binds"])


def run_test(code, namespace, deny=()):
    """Run a test in `namespace` (kept for later tests); return its last expression's value.

    Names in `deny` are computed in the notebook from the student's code: a
    test must call the student's functions itself, so they are not fetched.
    """
    wanted = [n for n in free_names(code) if n not in namespace]
    for name in [n for n in wanted if n in deny]:
        namespace[name] = Opaque(f"`{name}`", "is computed in the notebook from your code, and a "
                                 "test may not take it from your kernel (the test must call your functions)")
    wanted = [n for n in wanted if n not in deny]
    fetched = {}
    if wanted:
        send({"op": "get", "names": wanted})
        reply = receive()
        for name, value in reply.get("values", {}).items():
            if name in wanted:
                try:
                    fetched[name] = decode(value)
                except Unavailable as error:
                    fetched[name] = Opaque(f"`{name}` ({error})")
        namespace.update(fetched)
    try:
        return _execute(code, namespace)
    finally:
        # values fetched from the kernel are fetched afresh by the next test
        for name, value in fetched.items():
            if namespace.get(name) is value:
                del namespace[name]


def _execute(code, namespace):
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
    namespace, protected = dict(base), set()
    while True:
        request = receive()
        if request["op"] == "setup":
            try:
                exec(request["code"], base)
                send({"op": "ready"})
            except Exception as error:  # noqa: BLE001
                send({"op": "ready", "error": f"{type(error).__name__}: {error}"})
            namespace, protected = dict(base), set()
        elif request["op"] == "cells":
            run_cells(request["cells"], namespace, protected)
        elif request["op"] == "test":
            # names that student or demo cells (re)assigned since the last test come from the
            # kernel, except what the instructor's cells computed here
            for name in request.get("forget", []):
                if name not in base and name not in protected:
                    namespace.pop(name, None)
            run_cells(request.get("cells", []), namespace, protected)
            sys.stdout = printed = io.StringIO()  # what the test prints goes into the feedback
            try:
                verdict = {"ok": True, "result": run_test(request["code"], namespace,
                                                          set(request.get("deny", [])))}
            except StudentError as error:
                verdict = {"ok": False, "ename": "StudentCodeError", "evalue": f"your code raised {error}"}
            except Exception as error:  # noqa: BLE001
                evalue = str(error)
                if isinstance(error, NameError):
                    evalue += " (not defined in your notebook, or not plain data)"
                verdict = {"ok": False, "ename": type(error).__name__, "evalue": evalue}
            finally:
                sys.stdout = sys.stderr
            send({"op": "verdict", "stdout": printed.getvalue()[-20_000:], **verdict})


if __name__ == "__main__":
    main()
