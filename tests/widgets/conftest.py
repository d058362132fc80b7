"""The widget tests' shared check: an explorer shows a callback's error, then recovers."""
import pytest


@pytest.fixture
def breaks_visibly(monkeypatch):
    """Check an explorer's error handling: break ``target.attr``, act, then repair and act again.

    The error must reach the explorer's error area and readout, and the next
    good update must clear it. ``act`` and ``recover`` change a control.
    """

    def check(explorer, target, attr, act, recover):
        def broken(*args, **kwargs):
            raise RuntimeError("broken on purpose")

        monkeypatch.setattr(target, attr, broken)
        act()
        assert isinstance(explorer.last_error, RuntimeError)
        assert "broken on purpose" in "".join(o.get("text", "") for o in explorer.errors.outputs)
        assert "Error" in explorer.readout.value and "broken on purpose" in explorer.readout.value
        monkeypatch.undo()
        recover()
        assert explorer.last_error is None and explorer.errors.outputs == ()

    return check
