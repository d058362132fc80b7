"""The harness must see what a person sees is wrong: an error in a cell and a
blank picture (tests/browser/demo/broken_widget.ipynb)."""

from __future__ import annotations

import pytest
from e2e_flow import _blank_problems, open_and_run
from e2e_lab import NotebookSession
from widget_table import NotebookSpec

pytestmark = pytest.mark.browser

BROKEN = NotebookSpec("tests/browser/demo/broken_widget.ipynb")


def test_harness_reports_errors_and_blank_pictures(page, lab_server, screenshots_dir):
    nb = NotebookSession(page, BROKEN.path, screenshots_dir / "selftest_broken_widget")
    try:
        open_and_run(nb, lab_server, BROKEN)
    finally:
        nb.detach()

    problems = nb.errors()
    assert any("ZeroDivisionError" in p for p in problems), problems

    found = nb.discover()
    assert [w["images"] for w in found["widgets"]] == [1]
    assert [c["label"] for c in found["controls"]] == ["b"]
    snap = nb.snapshot(0, None)
    blank = _blank_problems(snap, "widget 0", nb.image_states(0))
    assert any("image data" in b for b in blank), blank
    assert any("as shown" in b for b in blank), blank
