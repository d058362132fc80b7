"""The grader's agent in the kernel: calls on copies, reports changed arguments, obeys the test's rules."""

import json
import types
import warnings

import numpy as np
import pytest

from grader import kernel_agent, wire


@pytest.fixture
def agent(monkeypatch):
    """An agent on a fake shell: its replies are collected instead of published."""
    monkeypatch.setattr(kernel_agent, "wire", wire)
    shell = types.SimpleNamespace(user_ns={}, kernel=types.SimpleNamespace(raw_input=None))
    made = kernel_agent.Agent(shell)
    made.replies = []
    monkeypatch.setattr(made, "_reply", made.replies.append)
    return made


def call(agent, name, *args, in_place=(), context=None):
    payload = wire.message("payload", args=[agent.codec.encode(a) for a in args], kwargs={},
                           in_place=list(in_place), context=context or {})
    agent.call(name, wire.dumps(payload))
    return wire.check(agent.replies.pop(), "result")


def test_a_call_returns_data_and_a_raise_its_type(agent):
    """Does a call answer with the encoded result, and a student's exception with its type and message?"""
    agent.ns["double"] = lambda x: 2 * x
    agent.ns["broken"] = lambda x: {}["missing"]
    assert agent.codec.decode(call(agent, "double", np.arange(3))["value"]).tolist() == [0, 2, 4]
    reply = call(agent, "broken", 1)
    assert reply["etype"] == "KeyError" and "missing" in reply["raised"]


def test_a_subclass_of_a_builtin_exception_arrives_as_its_builtin_base(agent):
    """Does utils' ShapeError (a ValueError) reach the test as a ValueError, with its own words?"""
    from utils.shapes import ShapeError

    def strict(x):
        raise ShapeError("W should have shape (2, 3) but has shape (3, 2)")

    agent.ns["strict"] = strict
    reply = call(agent, "strict", 1)
    assert reply["etype"] == "ValueError" and "(3, 2)" in reply["raised"]


def test_a_changed_argument_is_reported_unless_declared(agent):
    """Is an argument changed in place reported as changed, or sent back when the test declared it?"""
    def scale(params):
        params["W"] *= 2
        return None

    agent.ns["scale"] = scale
    params = {"W": np.ones(2)}
    assert call(agent, "scale", params)["changed"] == [0]
    reply = call(agent, "scale", params, in_place=[0])
    assert reply["changed"] == [] and agent.codec.decode(reply["after"][0][1])["W"].tolist() == [2, 2]
    assert params["W"].tolist() == [1, 1]  # the caller's object: only the copy changed


def test_the_call_runs_under_the_tests_warning_filters(agent):
    """Does an overflow warning become an error in the call when the test's filters say "error"?"""
    agent.ns["naive"] = lambda z: 1 / (1 + np.exp(-z))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filters = [[a, getattr(m, "pattern", m) or "", f"{c.__module__}.{c.__qualname__}",
                    getattr(mod, "pattern", mod) or "", n] for a, m, c, mod, n in warnings.filters]
    reply = call(agent, "naive", np.array([-1000.0]), context={"warnings": filters, "errstate": {}})
    assert reply["etype"] == "RuntimeWarning"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "value" in call(agent, "naive", np.array([-1000.0]))


def test_get_sends_only_what_exists_and_refuses_nothing_silently(agent):
    """Does get send the named values as data, an unencodable one as unavailable, a missing one not at all?"""
    deep = []
    for _ in range(wire.MAX_DEPTH + 3):
        deep = [deep]
    agent.ns.update({"w": np.zeros(2), "deep": deep})
    agent.get(["w", "deep", "absent"])
    values = wire.check(agent.replies.pop(), "values")["values"]
    assert set(values) == {"w", "deep"} and "unavailable" in values["deep"]
    assert json.loads(wire.dumps(wire.message("values", values=values)))
