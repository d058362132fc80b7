"""nbgrader's JupyterLab extensions load in the same JupyterLab the course uses:
the Create Assignment panel on a source notebook, the student Assignments
list, and the Formgrader showing the course's assignments."""

from __future__ import annotations

import json
import re
import time

import pytest
from e2e_lab import NotebookSession, menu, save_screenshot
from widget_table import COURSE_NOTEBOOKS, DEMO

pytestmark = pytest.mark.browser


def _tab(page, label: str):
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel",
                        has_text=re.compile(f"^{re.escape(label)}$"))


def _source_assignments(course_root) -> list[str]:
    src = course_root / "source"
    if not src.is_dir():
        return []
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def test_create_assignment_panel(page, lab_server, screenshots_dir):
    """The right sidebar's Create Assignment panel shows one nbgrader cell
    editor per cell of a source notebook."""
    existing = [s.path for s in COURSE_NOTEBOOKS if (lab_server.course_root / s.path).exists()]
    path = existing[0] if existing else DEMO.path
    nb = NotebookSession(page, path, screenshots_dir / "nbgrader")
    try:
        nb.open(lab_server)
    finally:
        nb.detach()
    n_cells = len(json.loads((lab_server.course_root / path).read_text())["cells"])

    tab = page.locator(".lm-TabBar-tab[title='Nbgrader Create Assignment']")
    tab.click()
    panel = page.locator(".nbgrader-NotebookWidget")
    panel.wait_for(state="visible")
    cells = panel.locator(".nbgrader-CellWidget")
    deadline = time.monotonic() + 20
    while cells.count() != n_cells and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cells.count() == n_cells, f"Create Assignment shows {cells.count()} cells, notebook has {n_cells}"
    # Each cell editor offers the nbgrader cell types.
    assert panel.locator(".nbgrader-CellType select").count() == n_cells
    options = cells.first.locator(".nbgrader-CellType select option").all_inner_texts()
    assert "Read-only" in options, options
    save_screenshot(page, screenshots_dir / "nbgrader" / "create_assignment.png")
    tab.click()  # close the sidebar again
    panel.wait_for(state="hidden")


def test_assignment_list(page, lab_server, screenshots_dir):
    """Nbgrader > Assignment List opens the student Assignments tab, which
    loads its three lists without an error."""
    menu(page, "Nbgrader", "Assignment List")
    _tab(page, "Assignments").wait_for()
    for name in ("released", "fetched", "submitted"):
        page.locator(f"#{name}_assignments_list").wait_for(state="visible")
        page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden", timeout=30_000)
        error = page.locator(f"#{name}_assignments_list_error")
        assert not error.is_visible(), f"{name} list shows an error: {error.inner_text()!r}"
    save_screenshot(page, screenshots_dir / "nbgrader" / "assignment_list.png")


def test_formgrader_lists_course_assignments(page, lab_server, screenshots_dir):
    """Nbgrader > Formgrader opens the formgrader in a tab; its Manage
    Assignments page lists every assignment folder of source/."""
    menu(page, "Nbgrader", "Formgrader")
    _tab(page, "Formgrader").wait_for()
    frame = page.frame_locator("#jp-main-dock-panel iframe[src*='formgrader']")
    frame.locator(".breadcrumb li", has_text="Assignments").first.wait_for(timeout=30_000)
    table = frame.locator("#main-table")
    table.locator("td", has_text="Loading, please wait...").wait_for(state="detached", timeout=30_000)

    expected = _source_assignments(lab_server.course_root)
    shown = sorted(t.strip() for t in table.locator("td.name").all_inner_texts())
    missing = sorted(set(expected) - set(shown))
    assert not missing, f"formgrader does not list {missing}; it lists {shown}"
    assert not frame.locator(".alert-danger:visible").count(), frame.locator(".alert-danger").all_inner_texts()
    save_screenshot(page, screenshots_dir / "nbgrader" / "formgrader.png")


def test_formgrader_shows_written_answers_for_manual_grading(browser_context, lab_server, screenshots_dir):
    """After autograding, does formgrader's submission page offer a score box for every written answer, with its rubric's points?"""
    import shutil
    import subprocess
    import sys

    import nbformat
    from nbgrader.api import Gradebook

    assignment, notebook = "00_numpy_warmup", "numpy_warmup"
    root = lab_server.course_root
    source = root / "source" / assignment / f"{notebook}.ipynb"
    answers = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
               for c in nbformat.read(source, as_version=4).cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")}
    assert answers, "the warm-up should have a written answer graded by hand"
    submitted = root / "grader" / "submitted" / "alice" / assignment
    submitted.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, submitted / f"{notebook}.ipynb")  # the reference, model answers in place
    for args in (["-m", "nbgrader", "generate_assignment", assignment, "--force"],
                 ["-m", "grader.autograde_class", assignment, "--workers", "1"]):
        run = subprocess.run([sys.executable, *args], cwd=root, env=lab_server.env, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "needing manual grading: 1 (alice)" in run.stdout, run.stdout[-2000:]
    with Gradebook(f"sqlite:///{root / 'grader' / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(notebook, assignment, "alice").id

    page = browser_context.new_page()
    try:
        page.goto(lab_server.url(f"formgrader/submissions/{submission_id}/"))
        for grade_id, points in answers.items():
            box = page.locator(f"input.score#{grade_id}")
            box.wait_for(state="visible", timeout=30_000)
            row = box.locator("xpath=..")
            assert f"/ {round(float(points), 2)}" in row.inner_text(), row.inner_text()
        save_screenshot(page, screenshots_dir / "nbgrader" / "formgrader_manual_grading.png")
    finally:
        page.close()
