"""The per-notebook scenario: open, attach, run all, check, drive widgets."""

from __future__ import annotations

import re
import time

from e2e_lab import E2EError, NotebookSession, Snapshot
from widget_table import Action, NotebookSpec


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-")[:40]


def _blank_problems(snap: Snapshot, where: str, states: list[dict]) -> list[str]:
    out = []
    for k, (pic, painted, st) in enumerate(zip(snap.pictures, snap.painted, states)):
        if st["shownW"] < 20 or st["shownH"] < 20:
            out.append(f"{where} image {k}: shown at {st['shownW']:.0f}x{st['shownH']:.0f} px")
        for kind, p in (("image data", pic), ("image as shown", painted)):
            reason = p.blank_reason()
            if reason:
                out.append(f"{where} image {k} ({kind}) looks blank: {reason}")
    return out


def find_control(found: dict, action: Action) -> dict:
    matches = [c for c in found["controls"] if c["label"] == action.label]
    if not matches:
        labels = sorted({c["label"] for c in found["controls"]})
        raise E2EError(f"no control labelled {action.label!r}; controls on screen: {labels}")
    if action.occurrence is None:
        if len({c["widget"] for c in matches}) > 1:
            raise E2EError(
                f"label {action.label!r} is in {len(matches)} widgets "
                f"(cells {[c['cell'] for c in matches]}); set occurrence=N in the table")
        return matches[0]
    if action.occurrence >= len(matches):
        raise E2EError(f"occurrence={action.occurrence} but only {len(matches)} controls labelled {action.label!r}")
    return matches[action.occurrence]


def describe_widgets(found: dict) -> str:
    lines = []
    for w in found["widgets"]:
        kinds = [f"{c['kind']}:{c['label']!r}" for c in found["controls"] if c["widget"] == w["index"]]
        lines.append(f"  widget {w['index']} (cell {w['cell']}, {w['images']} image(s)): {', '.join(kinds) or 'no controls'}")
    return "\n".join(lines)


def open_and_run(nb: NotebookSession, server, spec: NotebookSpec) -> dict:
    nb.open(server)
    kernel = nb.wait_kernel_attached(server)
    nb.run_all(spec.run_timeout)
    nb.wait_widgets_rendered()
    nb.screenshot("00_after_run_all")
    return kernel


def exercise(nb: NotebookSession, server, spec: NotebookSpec) -> dict:
    """Full scenario for one notebook. Raises AssertionError on any problem."""
    t0 = time.monotonic()
    open_and_run(nb, server, spec)

    problems = nb.errors(spec.allow_stderr)
    if problems:
        raise E2EError("the notebook shows errors after Run All Cells:\n  " + "\n  ".join(problems))

    found = nb.discover()
    pictured = [w for w in found["widgets"] if w["images"]]
    if not spec.actions and not found["widgets"]:
        # A notebook without widgets (an empty table entry says so): running clean is the test.
        nb.screenshot("99_final")
        nb.timings["total"] = time.monotonic() - t0
        return {"widgets": 0, "actions": 0}
    if not pictured:
        raise E2EError("no widget with a picture found after Run All Cells:\n" + describe_widgets(found))

    # Every picture is there and not blank before anything is touched.
    blank = []
    last: dict[int, Snapshot] = {}
    for w in pictured:
        nb.screenshot(f"widget{w['index']}_0_initial", nb.widget(w["index"]))
        snap = last[w["index"]] = nb.snapshot(w["index"], None)
        blank += _blank_problems(snap, f"widget {w['index']} (cell {w['cell']})", nb.image_states(w["index"]))
    if blank:
        raise E2EError("blank pictures after Run All Cells:\n  " + "\n  ".join(blank))

    if not spec.actions:
        raise E2EError(
            f"widget table for {spec.path} is empty; fill it in tests/browser/widget_table.py. "
            "Widgets found:\n" + describe_widgets(found))

    covered: set[int] = set()
    step: dict[int, int] = {}
    for action in spec.actions:
        control = find_control(found, action)
        wi = control["widget"]
        before = nb.snapshot(wi, control["id"], reuse=last.get(wi))
        nb.act(control, action)
        try:
            nb.wait_update(wi, before, control["id"], action.timeout, action.image_changes)
        except E2EError as e:
            raise E2EError(f"[{action}] widget {wi} did not react: {e}") from None
        after = last[wi] = nb.snapshot(wi, control["id"])
        step[wi] = step.get(wi, 0) + 1
        nb.screenshot(f"widget{wi}_{step[wi]}_{_slug(str(action))}", nb.widget(wi))

        fails = _blank_problems(after, f"after [{action}]", nb.image_states(wi))
        if fails:
            for k, data in enumerate(after.raw):
                (nb.shots / f"widget{wi}_{step[wi]}_image{k}_data.png").write_bytes(data)
        if action.image_changes:
            if not any(a.differs_from(b) for a, b in zip(after.pictures, before.pictures)):
                fails.append(f"[{action}] image data did not change")
            if not any(a.differs_from(b) for a, b in zip(after.painted, before.painted)):
                fails.append(f"[{action}] picture as shown on screen did not change")
            covered.add(wi)
        if action.readout_changes:
            checked = False
            if before.control_value is not None:
                checked = True
                if after.control_value == before.control_value:
                    fails.append(f"[{action}] control's value still shows {after.control_value!r}")
            if before.readouts:
                checked = True
                if after.readouts == before.readouts:
                    fails.append(f"[{action}] readouts still show {after.readouts!r}")
            if not checked:
                fails.append(f"[{action}] widget {wi} displays no value that could change "
                             "(set readout_changes=False if that is intended)")
        if fails:
            raise E2EError("\n  ".join(["widget check failed:"] + fails))

    uncovered = [w for w in pictured if w["index"] not in covered]
    if uncovered:
        raise E2EError(
            "widgets with pictures that no action in the table changes:\n"
            + describe_widgets({"widgets": uncovered, "controls": found["controls"]}))

    problems = nb.errors(spec.allow_stderr)
    if problems:
        raise E2EError("errors after driving the widgets:\n  " + "\n  ".join(problems))
    nb.screenshot("99_final")
    nb.timings["total"] = time.monotonic() - t0
    return {"widgets": len(found["widgets"]), "actions": len(spec.actions)}
