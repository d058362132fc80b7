"""The notebooks' interactive explorers, built from ipywidgets.

Every builder returns its container (an ``ipywidgets.VBox``) and does not
display it; the notebook's last expression shows it. The container carries
the explorer object as ``box.explorer``, so a test can set a control and
read back the state and the picture without a browser.

Pictures are matplotlib figures rendered with the Agg backend into an
``ipywidgets.Image`` as PNG: one figure per explorer, made once, whose
artists are updated in place and re-rendered after each change. This needs
no extra front-end extension and looks the same in JupyterLab, nbval and
tests.

The maths behind every explorer lives in the other ``utils`` modules; the
callbacks here only call it and draw. An exception inside a callback is
shown in the explorer's error area (and kept as ``explorer.last_error``),
never swallowed.
"""
import io
import traceback

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class FigureImage:
    """A matplotlib figure shown as a PNG ``ipywidgets.Image``.

    ``axes`` is the array of subplots (or the single Axes). Update artists,
    then call :meth:`render`.
    """

    def __init__(self, nrows=1, ncols=1, figsize=(6, 4), dpi=72, **subplot_kw):
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(nrows, ncols, **subplot_kw)
        self.dpi = dpi
        self.widget = widgets.Image(format="png")

    def render(self):
        """Draw the figure and put the PNG bytes into the widget; returns the bytes."""
        buf = io.BytesIO()
        # zlib level 1: at the default level compression takes a third of a frame,
        # for a PNG only about 20 % smaller
        self.figure.savefig(buf, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
        self.widget.value = buf.getvalue()
        return self.widget.value


class Explorer:
    """Shared shell of every explorer: named controls, a picture, a readout and an error area.

    Subclasses fill ``self.controls`` (name -> widget), build ``self.picture``
    (a :class:`FigureImage`) and implement ``update()``, which reads the
    controls, calls the maths in ``utils``, updates the artists, sets
    ``self.readout.value`` and renders.
    """

    def __init__(self):
        self.controls = {}
        self.readout = widgets.HTML()
        self.errors = widgets.Output()
        self.last_error = None
        self.picture = None

    def guarded(self, callback):
        """Wrap a callback so that an exception is shown in the error area, not lost."""

        def run(*args, **kwargs):
            try:
                result = callback(*args, **kwargs)
            except Exception as exc:  # shown to the user, and kept for tests
                self.last_error = exc
                self.errors.append_stderr(traceback.format_exc())
                self.readout.value = (
                    f"<b style='color:#b00'>Error: {type(exc).__name__}: {exc}</b>"
                )
                return None
            self.last_error = None
            self.errors.outputs = ()
            return result

        return run

    def observe_controls(self, names=None):
        """Re-run ``update`` whenever one of the named controls (all by default) changes value."""
        update = self.guarded(lambda change: self.update())
        for name in names or self.controls:
            self.controls[name].observe(update, names="value")

    def update(self):
        raise NotImplementedError

    def box(self, layout_rows):
        """A VBox of the given rows, the picture, the readout and the error area; carries ``.explorer``."""
        rows = list(layout_rows)
        if self.picture is not None:
            rows.append(self.picture.widget)
        rows += [self.readout, self.errors]
        box = widgets.VBox(rows)
        box.explorer = self
        return box


def slider(description, value, min, max, step=0.1, continuous_update=True, **kwargs):
    """A FloatSlider with the course's defaults (readout to 2 decimals, wide label)."""
    return widgets.FloatSlider(
        value=value, min=min, max=max, step=step, description=description,
        continuous_update=continuous_update, readout_format=".2f",
        style={"description_width": "initial"}, **kwargs,
    )


# ---- notebook 1: the neuron explorer ------------------------------------------


# ---- notebook 2: the gate explorer ----------------------------------------------


# ---- notebook 3: the MLP playground ---------------------------------------------


# ---- notebook 4: the backprop stepper -------------------------------------------


# ---- notebook 5: the softmax explorer -------------------------------------------


# ---- notebook 6: the vanishing-gradient explorer --------------------------------
