"""What the browser tests do to each notebook's widgets.

This table is the only thing to fill in when a notebook lands or changes.

For each notebook, list one or more Actions. An Action names a control by its
`description` label as shown on screen (for a Button: its text) and says how a
person changes it:

    Action("w1", "keys", keys=("ArrowRight",) * 3)  # focus slider handle, press keys
    Action("w1", "drag", dx=80)                      # drag the slider handle 80 px
    Action("activation", "select", option="step")    # pick a Dropdown option by its text
    Action("Train step", "click")                    # click a Button / ToggleButton / Checkbox
    Action("mode", "click", option="tanh")           # click an option of ToggleButtons/RadioButtons
    Action("lr", "type", text="0.5")                 # type into a slider readout / text box + Enter

After each action the test asserts that, in the widget that holds the control,
  * the picture changed (decoded <img> bytes AND the painted element), unless
    image_changes=False;
  * the displayed value changed: the control's own readout (slider readout,
    selected option, ...) and the readouts (HTML/Label/Output widgets),
    unless readout_changes=False;
  * no picture is blank, before or after.
Every widget output with a picture must be changed by at least one action, so
an empty list fails and prints the controls it found. The one exception is a
notebook that shows no widget at all: its empty list says so, and the test
then checks that Run All Cells shows no error and that indeed no widget appears.

If the same label occurs in several widgets of a notebook, say which one with
occurrence=N (0-based, in document order); an ambiguous label is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    label: str
    do: str  # "keys" | "drag" | "select" | "click" | "type"
    keys: tuple[str, ...] = ("ArrowRight", "ArrowRight", "ArrowRight")
    option: str | None = None
    dx: int = 80
    text: str | None = None
    occurrence: int | None = None
    image_changes: bool = True
    readout_changes: bool = True
    timeout: float = 30.0  # seconds for the widget to react and settle

    def __str__(self) -> str:
        extra = {
            "keys": "+".join(self.keys),
            "drag": f"dx={self.dx}",
            "select": self.option,
            "click": self.option or "",
            "type": self.text,
        }.get(self.do, "")
        return f"{self.do} {self.label!r} {extra}".strip()


@dataclass(frozen=True)
class NotebookSpec:
    path: str  # relative to the repository root
    actions: tuple[Action, ...] = ()
    # stderr text matching this regex is not an error (e.g. a known warning).
    allow_stderr: re.Pattern | None = None
    run_timeout: float = 120.0  # seconds for Run All Cells
    expect_errors: tuple[str, ...] = field(default=())  # harness self-test only


COURSE_NOTEBOOKS: tuple[NotebookSpec, ...] = (
    NotebookSpec(  # no widget: Run All Cells must show no error, and no widget appears
        "source/00_numpy_warmup/numpy_warmup.ipynb",
        actions=(),
    ),
    NotebookSpec(  # widgets.neuron_explorer()
        "source/01_logistic_regression/logistic_regression.ipynb",
        actions=(
            Action("w1", "keys", keys=("ArrowRight",) * 4),
            Action("b", "drag", dx=60),
            Action("one gradient step", "click"),
        ),
    ),
    NotebookSpec(  # widgets.gate_explorer(gate="OR", encoding="bipolar", w=(1, 1), b=1)
        "source/02_logic_gates/logic_gates.ipynb",
        actions=(
            Action("gate", "select", option="AND"),
            Action("step", "click"),  # AND with w=(1, 1), b=1 has mistakes: the rule moves w
            Action("w = 0, b = 0", "click"),
            Action("w1", "keys", keys=("ArrowRight",) * 4),
        ),
    ),
    NotebookSpec(  # widgets.mlp_playground(...)
        "source/03_xor/xor.ipynb",
        actions=(
            Action("activation", "select", option="relu"),
            Action("hidden width", "keys", keys=("ArrowRight",)),
            Action("Train more", "click"),
        ),
    ),
    NotebookSpec(  # widgets.backprop_stepper()
        "source/04_backprop/backprop.ipynb",
        actions=(
            Action("Next ▶", "click"),
            Action("step", "keys", keys=("ArrowRight",)),
            Action("◀ Previous", "click"),
            Action("Reset", "click"),
        ),
    ),
    NotebookSpec(  # widgets.softmax_explorer()
        "source/05_softmax/softmax.ipynb",
        actions=(
            Action("score z (cat)", "keys", keys=("ArrowRight",) * 3),  # the true class: loss moves
            Action("temperature T", "drag", dx=50),
            Action("true class", "select", option="dog"),
        ),
    ),
    NotebookSpec(  # widgets.vanishing_explorer()
        "source/06_vanishing_gradients/vanishing_gradients.ipynb",
        actions=(
            Action("hidden activation", "select", option="relu"),
            Action("depth L (layers)", "keys", keys=("ArrowLeft", "ArrowLeft")),
            Action("width", "select", option="4"),
        ),
    ),
)

# The harness's own demo notebook (tests/browser/demo/): proves the harness
# drives sliders, dropdowns and buttons, with keyboard and mouse.
DEMO = NotebookSpec(
    "tests/browser/demo/demo_widget.ipynb",
    actions=(
        Action("w1", "keys", keys=("ArrowRight", "ArrowRight")),
        Action("w1", "drag", dx=-120),
        Action("activation", "select", option="step"),
        Action("Reset", "click"),
    ),
)
