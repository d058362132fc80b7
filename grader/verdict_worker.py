"""The clean verdict worker: runs autograded test cells outside the student's kernel.

Started by grader.verdicts as `python -I verdict_worker.py` in an empty folder:
-I ignores PYTHONPATH, the user site and the current folder, so nothing a
submission dropped (numpy.py, utils/) can shadow a module here, and this process
never runs student code. It loads grader/wire.py, beside it, by path. Messages
are JSON lines on stdin/stdout, each with an `op` (grader.wire.OPS):

  grader -> worker  setup {code}: the notebook's import statements   -> ready {error?}
  grader -> worker  cells {cells: [{code, binds}]}: instructor cells to run here (no answer)
  grader -> worker  test {code, cells, fetch, forget, deny, hidden}    -> ... -> verdict
  worker -> grader  get {names}                      -> values {values}
  worker -> grader  call {name, args, kwargs, in_place, context}
                                                     -> result {value | raised, etype, changed, after}
  grader -> worker  callback {id, args, kwargs}      -> callback_result {value | raised, etype}
  worker -> grader  verdict {ok, ename, evalue, result, stdout}

`python -I verdict_worker.py --serve PATH` is the same worker, warm: a fork
server on the Unix socket PATH, started once per grading process
(grader.verdicts.start_server). Each connection sends one line, {cwd, imports}:
the server runs those import statements itself (once each: an assignment's
first notebook pays for numpy, matplotlib and the course package, the others
do not), forks, answers {pid}, and the child is the worker above with the
connection as its stdin and stdout. The server runs nothing but import
statements, and never student code.

The grader decides which names a test takes from the kernel (fetch: names the
student's cells bound), which it may not have (deny: names the instructor's
cells computed from student code) and which to drop (forget). Student functions
become proxies whose calls run in the kernel on copies of data; what comes back
is rebuilt here with the real classes, so a patched numpy, a lying __eq__, a
fake `utils` or an overridden method in the kernel never reaches an assertion
evaluated here. A call never changes the test's own objects: an argument the
student's function changed is a failure, unless the test declared it with
utils.checks.in_place, and then the change is copied back.
"""

import builtins
import importlib.util
import io
import os
import resource
import sys
import types
import warnings

resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
import numpy as np  # noqa: E402


def _load_wire():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire.py")
    spec = importlib.util.spec_from_file_location("grader_wire", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire = _load_wire()
_in, _out = sys.stdin, sys.stdout
sys.stdout = sys.stderr  # prints must never corrupt the protocol on _out


class StudentError(Exception):
    """The student's function raised (in the kernel), or broke a rule, when the test called it."""


class RuleBroken(StudentError):
    """The student's function broke a rule of calls (it changed an argument): the grader's words."""


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


def send(msg):
    _out.write(wire.dumps(msg) + "\n")
    _out.flush()


def receive(*ops):
    line = _in.readline(wire.MAX_MESSAGE + 2)
    if not line:
        sys.exit(0)
    return wire.loads(line, *ops)


def _mlp_class():
    try:
        from utils.mlp import MLP
    except ImportError:
        return None  # no course package here, so no network can cross
    return MLP


def _declared_in_place(value):
    checks = sys.modules.get("utils.checks")
    return checks is not None and checks.declared_in_place(value)


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


_callbacks = []  # functions of the test that student code may call back
_in_callback = False


def _function_out(value):
    if isinstance(value, Proxy):
        return {"function": value._name}
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)):
        _callbacks.append(value)
        return {"callback": len(_callbacks) - 1}
    return None


def _function_in(tag, body):
    if tag == "function" and isinstance(body, str) and body.startswith("@"):
        return Proxy(body)
    raise wire.WireError("a function reference that the kernel may not send")


codec = wire.Codec(function_out=_function_out, function_in=_function_in,
                   opaque=lambda what: Opaque(what), strict=True)


def _network_class():
    """Let networks cross once the course package is imported (by the setup or by a test)."""
    if codec.mlp_class is None:
        codec.mlp_class = _mlp_class()


def _context():
    """The test's warning filters and numpy error state, for the kernel to call under."""
    filters = []
    for action, message, category, module, lineno in warnings.filters:
        filters.append([action, getattr(message, "pattern", message) or "",
                        f"{category.__module__}.{category.__qualname__}",
                        getattr(module, "pattern", module) or "", lineno])
    return {"warnings": filters, "errstate": dict(np.geterr())}


def _run_callback(request):
    """Run a test function that the student's code called (in the kernel) with data."""
    global _in_callback
    _in_callback = True
    try:
        function = _callbacks[int(request["id"])]
        args = [codec.decode(a) for a in request.get("args", [])]
        kwargs = {k: codec.decode(v) for k, v in request.get("kwargs", {}).items()}
        answer = wire.message("callback_result", value=codec.encode(function(*args, **kwargs)))
    except Exception as error:  # noqa: BLE001 -- reported to the student's code, as raised
        answer = wire.message("callback_result", raised=wire.text(f"{type(error).__name__}: {error}"),
                              etype=type(error).__name__)
    finally:
        _in_callback = False
    send(answer)


def _argument(key):
    return f"argument {key + 1}" if isinstance(key, int) else f"argument `{key}`"


class Proxy:
    """A student function (or class): calling it runs it in the kernel, on copies of data."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"<student function {self._name}>"

    def __call__(self, *args, **kwargs):
        if _in_callback:
            raise Unavailable("a test function called back from student code cannot call student code")
        _network_class()
        try:
            encoded = [codec.encode(a) for a in args]
            encoded_kw = {k: codec.encode(v) for k, v in kwargs.items()}
        except wire.WireError as error:
            raise Unavailable(f"cannot pass this to the student's code: {error}") from None
        in_place = ([i for i, a in enumerate(args) if _declared_in_place(a)]
                    + [k for k, v in kwargs.items() if _declared_in_place(v)])
        send(wire.message("call", name=self._name, args=encoded, kwargs=encoded_kw,
                          in_place=in_place, context=_context()))
        reply = receive("result", "callback")
        while reply["op"] == "callback":
            _run_callback(reply)
            reply = receive("result", "callback")
        name = self._name if not self._name.startswith("@") else "your function"
        if "raised" in reply:
            raise student_error(reply.get("etype"), wire.text(reply["raised"]))
        changed = [k for k in reply.get("changed") or [] if isinstance(k, (int, str))]
        if changed:
            raise RuleBroken(
                f"{name} changed its {', '.join(_argument(k) for k in changed[:5])} in place; "
                "a function must not modify what it is given: work on a copy")
        targets = {**dict(enumerate(args)), **kwargs}
        for key, data in reply.get("after") or []:
            if key in in_place:
                try:
                    wire.assign_in_place(targets[key], codec.decode(data), codec.mlp_class)
                except wire.WireError as error:
                    raise RuleBroken(f"{name} left its {_argument(key)} as {error}") from None
        try:
            return codec.decode(reply.get("value"))
        except wire.WireError as error:
            raise Unavailable(f"{name} returned a value that is not plain data ({error})") from None


def run_cells(cells, namespace, protected):
    """Run the instructor's cells that do not depend on student code, quietly, here.

    What they bind is protected: never fetched from the kernel. A cell that
    fails leaves its names as opaque values, so a test that needs them fails.
    """
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


def run_test(code, namespace, fetch, deny):
    """Run a test in `namespace` (kept for later tests); return its last expression's value.

    `fetch`: names to take from the kernel, as data, for this test only;
    `deny`: names computed in the notebook from the student's code, which a
    test may not take (it must call the student's functions itself).
    """
    for name in deny:
        namespace[name] = Opaque(f"`{name}`", "is computed in the notebook from your code, and a "
                                 "test may not take it from your kernel (the test must call your functions)")
    fetched = {}
    if fetch:
        _network_class()
        send(wire.message("get", names=list(fetch)))
        reply = receive("values")
        values = reply.get("values") if isinstance(reply.get("values"), dict) else {}
        for name in fetch:
            if name in values:
                try:
                    fetched[name] = codec.decode(values[name])
                except wire.WireError as error:
                    fetched[name] = Opaque(f"`{name}` ({error})")
        namespace.update(fetched)
    try:
        return _execute(code, namespace)
    finally:
        # values fetched from the kernel are fetched afresh by the next test that reads them
        for name, value in fetched.items():
            if namespace.get(name) is value:
                del namespace[name]


def _execute(code, namespace):
    import ast

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


def verdict(request, namespace):
    """Run one test; return its verdict message."""
    sys.stdout = printed = io.StringIO()  # what the test prints goes into the feedback
    try:
        result = run_test(request["code"], namespace, request.get("fetch", []), request.get("deny", []))
        outcome = {"ok": True, "result": result}
    except StudentError as error:
        if request.get("hidden") and not isinstance(error, RuleBroken):
            what = type(error).__mro__[1].__name__ if type(error) is not StudentError else "an error"
            evalue = (f"your code raised {what} in a test with hidden parts (its message is not "
                      "shown here; run the visible tests in your notebook to see it)")
        else:
            evalue = f"your code raised {error}"
        outcome = {"ok": False, "ename": "StudentCodeError", "evalue": evalue}
    except Exception as error:  # noqa: BLE001
        evalue = str(error)
        if isinstance(error, NameError):
            evalue += " (not defined in your notebook, or not plain data)"
        outcome = {"ok": False, "ename": type(error).__name__, "evalue": evalue}
    finally:
        sys.stdout = sys.stderr
    return wire.message("verdict", stdout=printed.getvalue()[-20_000:], **outcome)


def main():
    base = {"__name__": "__test__", "__builtins__": builtins}
    namespace, protected = dict(base), set()
    while True:
        request = receive("setup", "cells", "test")
        if request["op"] == "setup":
            try:
                exec(request["code"], base)
                ready = wire.message("ready")
            except Exception as error:  # noqa: BLE001
                ready = wire.message("ready", error=f"{type(error).__name__}: {error}")
            namespace, protected = dict(base), set()
            send(ready)
        elif request["op"] == "cells":
            run_cells(request["cells"], namespace, protected)
        else:
            for name in request.get("forget", []):
                if name not in base and name not in protected:
                    namespace.pop(name, None)
            run_cells(request.get("cells", []), namespace, protected)
            send(verdict(request, namespace))


def import_statements(lines):
    """The lines of `lines` that are nothing but import statements (anything else is dropped)."""
    import ast

    kept = []
    for line in lines:
        try:
            tree = ast.parse(line)
        except (SyntaxError, ValueError):
            continue
        if tree.body and all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body):
            kept.append(line)
    return kept


def serve(path):
    """Fork a worker for each connection to the Unix socket `path`; never returns.

    The server is its process group's leader (grader.verdicts.start_server starts it in
    a session of its own), so on SIGTERM it kills itself and every worker it forked.
    """
    import json
    import signal
    import socket

    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished workers are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    imported = set()
    send(wire.message("ready"))  # on the real stdout: the grader waits for this line
    while True:
        conn, _ = listener.accept()
        try:
            line = b""
            while not line.endswith(b"\n") and len(line) < wire.MAX_MESSAGE:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                line += chunk
            request = json.loads(line)
            for statement in import_statements(request.get("imports", [])):
                if statement not in imported:
                    imported.add(statement)
                    try:
                        exec(statement, {"__name__": "__preload__"})
                    except Exception:  # noqa: BLE001 -- the worker's own setup reports it
                        pass
            cwd = str(request["cwd"])
        except (OSError, ValueError, KeyError, TypeError):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                listener.close()
                os.chdir(cwd)
                global _in, _out
                _in = conn.makefile("r", encoding="utf-8")
                _out = conn.makefile("w", encoding="utf-8")
                main()
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 0
            finally:
                os._exit(code)
        try:
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except OSError:
            os.kill(pid, signal.SIGKILL)
        conn.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])
    else:
        main()
