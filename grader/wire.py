"""The wire between the grader, its verdict worker and the student's kernel: one codec.

Three processes take part in a trusted verdict (grader/verdicts.py): the grader,
the clean worker that runs the instructor's test (grader/verdict_worker.py) and
the student's confined kernel, which runs only the student's functions when the
test calls them (grader/kernel_agent.py). Everything they send each other is a
message: one JSON object with an ``op`` and only the fields its op allows
(:data:`OPS`). Values travel as tagged data (:class:`Codec`):

* None, bool, int, str; float (``{"float": "nan"}`` for nan and inf);
* list; ``{"tuple": [...]}``; ``{"dict": [[key, value], ...]}``;
* ``{"npy": base64}``: a numeric or string numpy array, loaded without pickle;
* ``{"rng": state}``: a numpy random Generator's bit-generator state;
* ``{"mlp": state}``: a ``utils.MLP``, as ``MLP.state()``, rebuilt with
  ``MLP.from_state`` (so no method of a student's subclass travels);
* ``{"function": name}``: a function that stays in the kernel;
  ``{"callback": n}``: a function of the test that stays in the worker;
* ``{"unavailable": what}``: a value the kernel could not send.

Whatever a kernel sends is hostile: :func:`loads` bounds the size and the depth
of a message and turns every failure into :class:`WireError`, and
:meth:`Codec.decode` bounds arrays and nesting. :func:`cell_names` is the one
place that says which names a cell binds and reads; it never fails on a
student's cell.

This module is imported by the grader, loaded by path by the worker (which runs
with ``python -I``), and its source text is executed in the student's kernel,
so it needs only the standard library and numpy.
"""

import ast
import base64
import builtins
import hashlib
import io
import json
import math

import numpy as np

MAX_MESSAGE = 64 * 2**20  # characters in one message
MAX_JSON_DEPTH = 100  # JSON nesting of one message
MAX_DEPTH = 20  # nesting of containers in one value
MAX_ELEMENTS = 20_000_000  # elements of one array
MAX_TEXT = 2000  # characters kept of an error message or a name list entry
MAX_SOURCE = 2_000_000  # characters of a cell that cell_names parses
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "SFC64", "Philox", "MT19937")
ARRAY_KINDS = "biufcU"  # numpy dtype kinds that may cross
MIME = "application/x-nbgrader-trusted+json"  # the kernel's replies, as display data
CALLBACK_PROMPT = "nbgrader-trusted-callback:"  # the kernel's input() requests for a callback
PAYLOAD_PROMPT = "nbgrader-trusted-payload"  # the kernel's input() request for a call's arguments

# op -> the fields its message may carry (besides "op")
OPS = {
    # grader -> worker
    "setup": {"code"},
    "cells": {"cells"},
    "test": {"code", "cells", "fetch", "forget", "deny", "hidden"},
    "values": {"values"},
    "result": {"value", "raised", "etype", "changed", "after"},
    "callback": {"id", "args", "kwargs"},
    # worker -> grader
    "ready": {"error"},
    "get": {"names"},
    "call": {"name", "args", "kwargs", "in_place", "context"},
    "callback_result": {"value", "raised", "etype"},
    "verdict": {"ok", "ename", "evalue", "result", "stdout"},
    # grader -> kernel: the arguments of a call; kernel -> grader: "values" and "result"
    "payload": {"args", "kwargs", "in_place", "context"},
}


class WireError(ValueError):
    """Data on the wire is malformed, too large, too deep or not plain data."""


def message(op, **fields):
    """Return a message: ``{"op": op, **fields}``, refusing fields its op does not allow."""
    extra = set(fields) - OPS[op]
    if extra:
        raise WireError(f"a {op!r} message has no field {sorted(extra)}")
    return {"op": op, **fields}


def dumps(msg):
    """Return `msg` as one line of JSON."""
    return json.dumps(msg, separators=(",", ":"), allow_nan=False)


def _json_depth_ok(value, limit):
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return True


def loads(text, *ops, limit=MAX_MESSAGE):
    """Parse one message that must have one of `ops`; raise WireError on anything else.

    The text is bounded by `limit` characters and MAX_JSON_DEPTH levels, and
    every field must be one its op allows.
    """
    if not isinstance(text, (str, bytes)):
        raise WireError(f"expected a message as text, got {type(text).__name__}")
    if len(text) > limit:
        raise WireError(f"a message of {len(text)} characters is over the limit of {limit}")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError, MemoryError) as error:
        raise WireError(f"not a message: {type(error).__name__}") from None
    if not _json_depth_ok(msg, MAX_JSON_DEPTH):
        raise WireError(f"a message nested deeper than {MAX_JSON_DEPTH} levels")
    return check(msg, *ops)


def check(msg, *ops):
    """Return `msg` if it is a message with one of `ops` and only the fields its op allows."""
    if not isinstance(msg, dict) or msg.get("op") not in ops:
        got = msg.get("op") if isinstance(msg, dict) else type(msg).__name__
        raise WireError(f"expected a message with op {' or '.join(map(repr, ops))}, got {got!r}")
    extra = set(msg) - OPS[msg["op"]] - {"op"}
    if extra:
        raise WireError(f"a {msg['op']!r} message has unknown fields {sorted(extra)[:5]}")
    return msg


def text(value, limit=MAX_TEXT):
    """Return `value` as a string of at most `limit` characters (for untrusted messages)."""
    value = value if isinstance(value, str) else repr(value)
    return value if len(value) <= limit else value[:limit] + "..."


class Codec:
    """Encode values as wire data and back, for one side of the wire.

    function_out(f) -> wire data for a function of this side (or None to refuse);
    function_in(tag, body) -> the object standing for a "function" or "callback"
    of the other side; opaque(what) -> what stands for an "unavailable" value;
    mlp_class: utils.mlp.MLP, or None when the network cannot be imported;
    strict: refuse (WireError) a value that is not data instead of sending it as
    "unavailable".
    """

    def __init__(self, function_out=None, function_in=None, opaque=None, mlp_class=None,
                 strict=False):
        self.function_out, self.function_in = function_out, function_in
        self.opaque, self.mlp_class, self.strict = opaque, mlp_class, strict

    # ---- values -> data ----------------------------------------------------
    def encode(self, value, depth=0):
        """Return `value` as wire data; a value that is not data becomes "unavailable"."""
        if depth > MAX_DEPTH:
            raise WireError(f"a value nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, np.generic) and not isinstance(value, np.void):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields:
                return self._unavailable(f"an array of dtype {value.dtype}")
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}
        if isinstance(value, list):
            return [self.encode(v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            return {"dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                             for k, v in value.items()]}
        if isinstance(value, np.random.Generator):
            return {"rng": value.bit_generator.state}
        if self.mlp_class is not None and isinstance(value, self.mlp_class):
            return {"mlp": self.encode(value.state(), depth + 1)}
        if callable(value) and self.function_out is not None:
            data = self.function_out(value)
            if data is not None:
                return data
        return self._unavailable(f"a {type(value).__name__}")

    def _unavailable(self, what):
        if self.strict:
            raise WireError(f"{what} is not plain data")
        return {"unavailable": what}

    # ---- data -> values ----------------------------------------------------
    def decode(self, data, depth=0):
        """Return the value `data` stands for; raise WireError on anything but plain data."""
        if depth > MAX_DEPTH:
            raise WireError(f"a value nested deeper than {MAX_DEPTH} levels")
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.decode(v, depth + 1) for v in data]
        if not isinstance(data, dict) or len(data) != 1:
            raise WireError("malformed value")
        (tag, body), = data.items()
        if tag == "npy":
            return decode_array(body)
        if tag == "tuple" and isinstance(body, list):
            return tuple(self.decode(v, depth + 1) for v in body)
        if tag == "dict" and isinstance(body, list):
            pairs = [self.decode(p, depth + 1) for p in body]
            try:
                return {k: v for k, v in pairs}
            except (TypeError, ValueError):
                raise WireError("malformed dict") from None
        if tag == "float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "rng":
            return generator(body)
        if tag == "mlp" and self.mlp_class is not None:
            state = self.decode(body, depth + 1)
            try:
                return self.mlp_class.from_state(state)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                raise WireError(f"network: {text(str(error), 300)}") from None
        if tag in ("function", "callback") and self.function_in is not None:
            return self.function_in(tag, body)
        if tag == "unavailable" and self.opaque is not None:
            return self.opaque(text(body, 200))
        raise WireError(f"unknown value tag {text(tag, 40)!r}")

    # ---- comparing a value before and after a call ---------------------------
    def fingerprint(self, value, depth=0):
        """Return what must stay equal if a call leaves `value` alone (a hashable digest).

        Arrays by dtype, shape and contents; containers by their items; a
        network by its parameters (a forward or backward pass may change its
        caches and gradients); a random generator not at all (drawing from it is
        what it is for); anything else by its type.
        """
        if depth > MAX_DEPTH:
            return ("deep",)
        if value is None or isinstance(value, (bool, int, float, str)):
            return ("atom", value if not isinstance(value, float) or math.isfinite(value) else repr(value))
        if isinstance(value, np.ndarray):
            raw = value.tobytes() if value.dtype.kind != "O" else b""
            return ("array", value.dtype.str, value.shape, hashlib.blake2b(raw, digest_size=16).digest())
        if isinstance(value, (list, tuple)):
            return (type(value).__name__,) + tuple(self.fingerprint(v, depth + 1) for v in value)
        if isinstance(value, dict):
            return ("dict",) + tuple((self.fingerprint(k, depth + 1), self.fingerprint(v, depth + 1))
                                     for k, v in value.items())
        if isinstance(value, np.random.Generator):
            return ("rng",)
        if self.mlp_class is not None and isinstance(value, self.mlp_class):
            return ("mlp", self.fingerprint(value.params, depth + 1))
        return ("object", type(value).__name__)


def decode_array(body):
    """Return the array in base64 .npy `body`; refuse pickles, records and huge arrays."""
    if not isinstance(body, str):
        raise WireError("malformed array")
    try:
        array = np.load(io.BytesIO(base64.b64decode(body, validate=True)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise WireError(f"malformed array: {text(str(error), 200)}") from None
    if type(array) is not np.ndarray or array.dtype.kind not in ARRAY_KINDS or array.dtype.fields:
        raise WireError(f"an array of dtype {array.dtype} is not plain data")
    if array.size > MAX_ELEMENTS:
        raise WireError(f"an array of {array.size} elements is over the limit of {MAX_ELEMENTS}")
    return array


def generator(state):
    """Return a numpy Generator in `state` (a bit-generator state); refuse unknown kinds."""
    kind = state.get("bit_generator") if isinstance(state, dict) else None
    if kind not in BIT_GENERATORS:
        raise WireError("a random generator of an unknown kind")
    rng = np.random.Generator(getattr(np.random, kind)())
    try:
        rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise WireError(f"random generator state: {text(str(error), 200)}") from None
    return rng


def assign_in_place(target, value, mlp_class=None):
    """Make `target` equal to `value` without rebinding it (what a change in place did).

    Arrays keep their shape and dtype, dicts and lists their identity,
    networks take the new state, generators the new bit-generator state.
    Raise WireError when `value` cannot stand for `target`.
    """
    if isinstance(target, np.ndarray) and isinstance(value, np.ndarray):
        if value.shape == target.shape:
            target[...] = value
            return
    elif isinstance(target, dict) and isinstance(value, dict):
        target.clear()
        target.update(value)
        return
    elif isinstance(target, list) and isinstance(value, list):
        target[:] = value
        return
    elif isinstance(target, np.random.Generator) and isinstance(value, np.random.Generator):
        target.bit_generator.state = value.bit_generator.state
        return
    elif mlp_class is not None and isinstance(target, mlp_class) and isinstance(value, mlp_class):
        target.load_state(value.state())
        return
    raise WireError(f"a {type(value).__name__} cannot replace a {type(target).__name__} in place")


# ---- names ------------------------------------------------------------------
def parse(source):
    """Return the module AST of `source`, or None if it is not plain, reasonably sized Python."""
    if not isinstance(source, str) or len(source) > MAX_SOURCE:
        return None
    try:
        return ast.parse(source)
    except Exception:  # noqa: BLE001 -- SyntaxError, RecursionError, MemoryError: not Python to us
        return None


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


def _bound_anywhere(tree):
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


def cell_names(source):
    """Return (binds, reads) of a cell, or None if it is not plain Python.

    binds: the names it binds at its top level. reads: the names it reads and
    binds nowhere itself, not even as a local of one of its functions (builtins
    excluded): what it needs from outside. Never raises.
    """
    tree = parse(source)
    if tree is None:
        return None
    try:
        top = _TopLevel()
        top.visit(tree)
        loads_ = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        return top.binds, loads_ - _bound_anywhere(tree) - set(dir(builtins))
    except RecursionError:
        return None
