"""Each course notebook, as a person uses it in JupyterLab: open it, wait for
the kernel, Run All Cells, no error anywhere, then change every widget's
controls and see the picture and the readouts change.

What to change in each notebook: widget_table.py.
Screenshots: <artifacts>/screenshots/<notebook>/ (see NOTES.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_flow import exercise
from e2e_lab import NotebookSession
from e2e_server import course_dir
from widget_table import COURSE_NOTEBOOKS, DEMO

pytestmark = pytest.mark.browser


def _run(spec, page, lab_server, screenshots_dir, timings):
    nb = NotebookSession(page, spec.path, screenshots_dir / Path(spec.path).stem)
    try:
        exercise(nb, lab_server, spec)
    finally:
        nb.detach()
        timings[spec.path] = {k: round(v, 2) for k, v in nb.timings.items()}
        if nb.console:
            (nb.shots).mkdir(parents=True, exist_ok=True)
            (nb.shots / "browser_console.txt").write_text("\n".join(nb.console))


@pytest.mark.parametrize("spec", COURSE_NOTEBOOKS, ids=[Path(s.path).stem for s in COURSE_NOTEBOOKS])
def test_course_notebook(spec, page, lab_server, screenshots_dir, timings):
    if not (lab_server.course_root / spec.path).exists():
        pytest.skip(f"{spec.path} does not exist (yet) in {course_dir()}")
    _run(spec, page, lab_server, screenshots_dir, timings)


def test_demo_notebook(page, lab_server, screenshots_dir, timings):
    """The harness itself: keyboard, mouse drag, dropdown and button on a
    known-good widget."""
    _run(DEMO, page, lab_server, screenshots_dir, timings)
