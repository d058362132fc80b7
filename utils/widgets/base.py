"""The shell every explorer shares: a figure shown as a PNG, named controls, a readout, an error area.

:class:`FigureImage` renders a matplotlib figure with the Agg backend into an
``ipywidgets.Image``: one figure per explorer, made once, whose artists are
updated in place and re-rendered after each change. This needs no front-end
extension and looks the same in JupyterLab, nbval and tests.

:class:`Explorer` is the base class of every explorer. It wires the controls
to ``update``, holds the redraw while several controls move together
(:meth:`Explorer.holding`), shows a callback's exception instead of losing
it, and lays itself out in one way (:meth:`Explorer.box`).
"""
import contextlib
import io
import threading
import traceback

import ipywidgets
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
        self.widget = ipywidgets.Image(format="png")

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

    A subclass fills ``self.controls`` (name -> widget), builds
    ``self.picture`` (a :class:`FigureImage`), wires the controls with
    :meth:`observe_controls`, and implements :meth:`update` (read the
    controls, call the maths in ``utils``, update the artists, set
    ``self.readout.value``, render) and :meth:`control_rows` (its layout).
    Its ``__init__`` ends with ``self.start()`` (or ``self.guarded(self.update)()``), so that a new
    explorer shows its first picture, and its builder function returns
    ``explorer.box()``.
    """

    def __init__(self):
        self.controls = {}
        self.readout = ipywidgets.HTML()
        self.errors = ipywidgets.Output()
        self.last_error = None
        self.picture = None
        self.timings = {}  # seconds of the last update's parts, for the benchmark
        self._held = 0  # how many holding() blocks are open
        # JupyterLab may deliver widget messages on more than one kernel thread
        # (ipykernel subshells); two callbacks drawing one figure at once leave
        # it blank. Re-entrant, since a callback may move another control.
        self._lock = threading.RLock()

    def start(self):
        """Wire every control to ``update`` and draw the first picture: the end of an explorer's ``__init__``."""
        self.observe_controls()
        self.guarded(self.update)()

    def guarded(self, callback):
        """Wrap a callback so that an exception is shown in the error area, not lost."""

        def run(*args, **kwargs):
            try:
                with self._lock:
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

    @contextlib.contextmanager
    def holding(self):
        """Hold the redraw while several controls move together, then run ``update`` once.

        Inside the block, the callbacks of :meth:`observe_controls` do
        nothing; when the outermost block ends without an exception,
        ``update`` runs (each picture costs a render, about 0.1 s).
        """
        with self._lock:
            self._held += 1
            try:
                yield self
            finally:
                self._held -= 1
            if not self._held:
                self.update()

    def observe_controls(self, names=None, callback=None):
        """Run ``callback`` (``update`` by default) when a named control (all by default) changes value.

        Nothing runs while the redraw is held (:meth:`holding`); an exception
        is shown in the error area (:meth:`guarded`).
        """

        def changed(change):
            if not self._held:
                (callback or self.update)()

        changed = self.guarded(changed)
        for name in self.controls if names is None else names:
            self.controls[name].observe(changed, names="value")

    def update(self):
        """Read the controls, recompute, redraw and set the readout."""
        raise NotImplementedError

    def control_rows(self):
        """The controls as rows of widgets (usually ``HBox``), top to bottom."""
        raise NotImplementedError

    def display_rows(self):
        """What stands under the controls: the picture, then the readout."""
        return [self.picture.widget, self.readout]

    def box(self):
        """The explorer's VBox, not displayed: controls, picture and readout, error area.

        It carries the explorer as ``box.explorer``, so that a test can set a
        control and read back the state and the picture without a browser.
        """
        box = ipywidgets.VBox([*self.control_rows(), *self.display_rows(), self.errors])
        box.explorer = self
        return box


def slider(description, value, min, max, step=0.1, continuous_update=True, **kwargs):
    """A FloatSlider with the course's defaults (readout to 2 decimals, wide label)."""
    return ipywidgets.FloatSlider(
        value=value, min=min, max=max, step=step, description=description,
        continuous_update=continuous_update, readout_format=".2f",
        style={"description_width": "initial"}, **kwargs,
    )
