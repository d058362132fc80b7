"""The notebooks' interactive explorers, built from ipywidgets: one module per explorer.

=============  ==========================================================
module         what lives there
=============  ==========================================================
``base``       :class:`FigureImage` (a matplotlib figure shown as a PNG),
               :class:`Explorer` (controls, picture, readout, error
               area, the one way to hold the redraw and to lay out),
               :func:`slider`
``neuron``     notebook 1: :func:`neuron_explorer`, one sigmoid neuron
``gates``      notebook 2: :func:`gate_explorer`, a perceptron on a logic
               gate, and :func:`truth_table_html`
``playground`` notebook 3: :func:`mlp_playground`, a 2-H-1 network
               trained on a 2-D data set (:func:`playground_data`)
``backprop``   notebook 4: :func:`backprop_stepper`, one forward and
               backward pass, a number at a time
``softmax``    notebook 5: :func:`softmax_explorer`, scores to
               probabilities to cross-entropy
``vanishing``  notebook 6: :func:`vanishing_explorer`, per-layer gradient
               norms of a deep network
=============  ==========================================================

Every builder returns its container (an ``ipywidgets.VBox``: the control
rows, the picture and readout, the error area) and does not display it; the
notebook's last expression shows it. The container carries the explorer
object as ``box.explorer``, so a test can set a control and read back the
state and the picture without a browser.

The maths behind every explorer lives in the other ``utils`` modules (the
training loop is :meth:`utils.MLP.fit`); the callbacks here only call it and
draw. An exception inside a callback is shown in the explorer's error area
(and kept as ``explorer.last_error``), never swallowed.
"""
from utils.widgets.backprop import BackpropStepper, backprop_stepper
from utils.widgets.base import Explorer, FigureImage, slider
from utils.widgets.gates import GateExplorer, gate_explorer, truth_table_html
from utils.widgets.neuron import NeuronExplorer, neuron_explorer
from utils.widgets.playground import PlaygroundExplorer, mlp_playground, playground_data
from utils.widgets.softmax import SoftmaxExplorer, softmax_explorer
from utils.widgets.vanishing import VanishingExplorer, vanishing_explorer

__all__ = [
    "BackpropStepper",
    "Explorer",
    "FigureImage",
    "GateExplorer",
    "NeuronExplorer",
    "PlaygroundExplorer",
    "SoftmaxExplorer",
    "VanishingExplorer",
    "backprop_stepper",
    "gate_explorer",
    "mlp_playground",
    "neuron_explorer",
    "playground_data",
    "slider",
    "softmax_explorer",
    "truth_table_html",
    "vanishing_explorer",
]
