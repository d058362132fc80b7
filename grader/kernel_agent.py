"""The grader's agent in the student's kernel: runs a student's function when a test calls it.

grader/verdicts.py sends this file's source, and grader/wire.py's, into the
confined kernel (see `boot_code`), where they run as two private modules. The
test itself never runs here: the verdict worker runs it, and only its calls
into the student's functions reach this agent, as data. Nothing this agent
sends back is trusted: the student's code runs in this same process and can
change anything here, so the grader treats every reply as hostile data.

What necessarily reaches the student's code: the arguments of each call the
test makes (hidden inputs included), the warning filters and numpy error state
the test runs under, and the names the grader asks for, which are only names
that the student's own cells bind.
"""

import builtins
import contextlib
import importlib
import warnings

import numpy as np

wire = None  # grader/wire.py as a module: set by the boot code before the agent starts


def boot_code(wire_source, agent_source):
    """Return the code that starts the agent in a kernel, as `__nbg_agent`."""
    return (
        "def __nbg_boot(wire_source, agent_source):\n"
        "    import types\n"
        "    from IPython import get_ipython\n"
        "    wire = types.ModuleType('nbg_wire')\n"
        "    exec(compile(wire_source, '<grader wire>', 'exec'), wire.__dict__)\n"
        "    agent = types.ModuleType('nbg_agent')\n"
        "    exec(compile(agent_source, '<grader agent>', 'exec'), agent.__dict__)\n"
        "    agent.wire = wire\n"
        "    return agent.Agent(get_ipython())\n"
        f"__nbg_agent = __nbg_boot({wire_source!r}, {agent_source!r})\n"
        "del __nbg_boot\n"
    )


def _category(name):
    """Return the warning class called `name` (builtins or numpy), or None."""
    module, _, qualname = str(name).rpartition(".")
    if module != "builtins" and not module.startswith("numpy"):
        return None
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError, ValueError):
        return None
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else None


@contextlib.contextmanager
def test_context(context):
    """Run a call under the test's warning filters and numpy error state, as the worker has them."""
    with warnings.catch_warnings():
        filters = context.get("warnings")
        if isinstance(filters, list):
            warnings.resetwarnings()
            for entry in reversed(filters):
                try:
                    action, message, category, module, lineno = entry
                    warnings.filterwarnings(action, message or "", _category(category) or Warning,
                                            module or "", int(lineno))
                except (TypeError, ValueError, AssertionError):
                    continue
        errstate = context.get("errstate")
        with np.errstate(**(errstate if isinstance(errstate, dict) else {})):
            yield


def _error(etype, text):
    cls = getattr(builtins, etype or "", None)
    ok = isinstance(cls, type) and issubclass(cls, Exception)
    return (cls if ok else RuntimeError)(text)


def _builtin_type(error):
    """The name of the nearest builtin class of `error`: a ShapeError(ValueError) travels as ValueError.

    The worker rebuilds only builtin exception types, so that a test expecting
    a ValueError also accepts a library's subclass of it.
    """
    return next((cls.__name__ for cls in type(error).__mro__ if getattr(builtins, cls.__name__, None) is cls),
                "Exception")


def _describe(error):
    try:
        return wire.text(f"{type(error).__name__}: {error}", 500)
    except Exception:  # noqa: BLE001 -- a student's exception whose str() fails
        return type(error).__name__


class Agent:
    """Runs the student's functions for the worker and answers with data."""

    def __init__(self, shell):
        self.ns, self.kernel = shell.user_ns, shell.kernel
        self.refs = {}  # functions sent to the worker, by reference
        try:
            from utils.mlp import MLP
        except Exception:  # noqa: BLE001 -- without the course package no network crosses
            MLP = None
        self.codec = wire.Codec(function_out=self._reference, function_in=self._function,
                                mlp_class=MLP)

    def _reference(self, function):
        name = f"@{len(self.refs)}"
        self.refs[name] = function
        return {"function": name}

    def _function(self, tag, body):
        if tag == "callback":
            return self._callback(body)
        function = self.refs.get(body) if isinstance(body, str) else None
        if function is None:
            raise wire.WireError("an unknown function reference")
        return function

    def _callback(self, callback_id):
        def test_function(*args, **kwargs):
            request = wire.message("callback", id=callback_id,
                                   args=[self.codec.encode(a) for a in args],
                                   kwargs={k: self.codec.encode(v) for k, v in kwargs.items()})
            answer = wire.loads(self.kernel.raw_input(wire.CALLBACK_PROMPT + wire.dumps(request)),
                                "callback_result")
            if "raised" in answer:
                raise _error(answer.get("etype"), answer["raised"])
            return self.codec.decode(answer.get("value"))

        return test_function

    def _reply(self, msg):
        from IPython.display import publish_display_data

        publish_display_data({wire.MIME: wire.dumps(msg)})

    def get(self, names):
        """Send the values of `names` (names the student's cells bound)."""
        values = {}
        for name in names:
            if name in self.ns:
                try:
                    values[name] = self.codec.encode(self.ns[name])
                except wire.WireError as error:
                    values[name] = {"unavailable": str(error)}
        self._reply(wire.message("values", values=values))

    def call(self, name, payload=None):
        """Call the student's function `name` on the payload's arguments; send the result."""
        text = self.kernel.raw_input(wire.PAYLOAD_PROMPT) if payload is None else payload
        request = wire.loads(text, "payload")
        function = self.refs.get(name) if name.startswith("@") else self.ns.get(name)
        args = [self.codec.decode(a) for a in request.get("args", [])]
        kwargs = {k: self.codec.decode(v) for k, v in request.get("kwargs", {}).items()}
        keys = list(range(len(args))) + list(kwargs)
        values = args + list(kwargs.values())
        before = [self.codec.fingerprint(v) for v in values]
        try:
            with test_context(request.get("context") or {}):
                out = function(*args, **kwargs)
            result = wire.message("result", value=self.codec.encode(out))
        except BaseException as error:  # noqa: BLE001 -- the interrupt at the deadline included
            result = wire.message("result", raised=_describe(error), etype=_builtin_type(error))
        in_place = set(request.get("in_place") or [])
        result["changed"] = [key for key, value, print_ in zip(keys, values, before)
                             if key not in in_place and self.codec.fingerprint(value) != print_]
        after = []
        for key, value in zip(keys, values):
            if key in in_place:
                try:
                    after.append([key, self.codec.encode(value)])
                except wire.WireError as error:
                    after.append([key, {"unavailable": str(error)}])
        if after:
            result["after"] = after
        self._reply(result)
