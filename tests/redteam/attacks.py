"""Hostile submissions for the red-team suite: one per attack class of the threat model.

Every attack replaces the `sigmoid` answer cell of the UNTOUCHED release of the
toy assignment (so it starts from what a student receives), and each one ends
with the same probe, which tries every other attack class quietly: read the
secrets, write outside its scratch folder, connect to the test's sockets,
allocate beyond the memory cap. Markers printed by the probe (LEAK, WROTE,
CONNECTED, ALLOCATED) must never appear in the autograded notebooks.
"""

# {targets} is filled by the test: a JSON dict of paths and ports it owns.
PROBE = r'''
import json as _j, os as _o, socket as _s
_t = _j.loads({targets!r})
for _p in _t["secrets"] + ["../../../../source/00_toy/toy.ipynb", "../../../gradebook.db"]:
    try:
        print("LE" "AK", _p, open(_p, "rb").read(4000))
    except Exception:
        pass
for _p in _t["writes"] + ["../../PWNED", "../../../PWNED"]:
    try:
        open(_p, "w").write("x"); print("WR" "OTE", _p)
    except Exception:
        pass
for _fam, _a in [(_s.AF_INET, ("127.0.0.1", _t["tcp"])), (_s.AF_INET6, ("::1", _t["tcp6"])),
                 (_s.AF_UNIX, _t["unix"]), (_s.AF_INET, ("1.1.1.1", 80))]:
    try:
        _c = _s.socket(_fam, _s.SOCK_STREAM); _c.settimeout(1); _c.connect(_a); print("CO" "NNECTED", _a)
    except Exception:
        pass
try:
    _big = bytearray(3 * 2**30); print("AL" "LOCATED", len(_big)); del _big
except MemoryError:
    pass
'''

WRONG_SIGMOID = "def sigmoid(z):\n    return z\n"

ATTACKS = {
    # read source/, the gradebook, other submissions, the exchange, the grader's home
    "read_secrets": WRONG_SIGMOID + r'''
import os
for root in ["..", "../..", "../../..", "../../../..", "/", "/root", os.path.expanduser("~")]:
    try:
        print(root, os.listdir(root))
    except Exception as e:
        print(root, "blocked", type(e).__name__)
''',
    # open the gradebook with sqlite and write to it; write outside scratch
    "write_gradebook": WRONG_SIGMOID + r'''
import sqlite3, glob
for p in glob.glob("../../../*.db") + [_t["gradebook"]]:
    try:
        con = sqlite3.connect(p); con.execute("UPDATE grade SET auto_score = 99"); con.commit()
        print("WR" "OTE gradebook", p)
    except Exception as e:
        print("gradebook blocked", type(e).__name__)
''',
    # a detached process that outlives the kernel and rewrites grades later
    "daemon": WRONG_SIGMOID + r'''
import os, time, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        code = ("import time, sqlite3\n"
                "time.sleep(4)\n"
                "con = sqlite3.connect(%r); con.execute('UPDATE grade SET auto_score = 99'); con.commit()\n"
                "open(%r, 'w').write('daemon')\n") % (_t["gradebook"], _t["writes"][0])
        os.execv(sys.executable, [sys.executable, "-c", code])
    os._exit(0)
time.sleep(0.3)
''',
    # loopback and outside network
    "network": WRONG_SIGMOID + r'''
import socket, urllib.request
for addr in [("127.0.0.1", _t["tcp"]), ("localhost", _t["tcp"]), ("10.0.0.1", 80), ("8.8.8.8", 53)]:
    try:
        socket.create_connection(addr, timeout=1); print("CO" "NNECTED", addr)
    except Exception as e:
        print("net blocked", addr, type(e).__name__)
try:
    urllib.request.urlopen("http://example.com", timeout=2); print("CONNECTED web")
except Exception as e:
    print("web blocked", type(e).__name__)
''',
    # allocate more than the cap
    "memory_bomb": WRONG_SIGMOID + r'''
import numpy as np
big = np.ones(3 * 2**30 // 8)
print("AL" "LOCATED", big.nbytes)
''',
    # fork bomb (bounded, so that an unconfined run cannot take the machine down)
    "fork_bomb": WRONG_SIGMOID + r'''
import os, time
n = 0
try:
    for i in range(300):
        if os.fork() == 0:
            time.sleep(20); os._exit(0)
        n += 1
except OSError as e:
    print("fork refused after", n, e)
print("FOR" "KED", n)
''',
    # output flood
    "output_flood": WRONG_SIGMOID + r'''
for _ in range(40):
    print("x" * 2**20)
''',
    # kill its own kernel (after the probe, see build())
    "kill_kernel": WRONG_SIGMOID + "import os, sys, time\nsys.stdout.flush()\ntime.sleep(0.5)\nos.kill(os.getpid(), 9)\n",
    # monkeypatch numpy so that every comparison passes, and fake training results
    "patch_numpy": WRONG_SIGMOID + r'''
import numpy as np, builtins
np.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
_real_abs = builtins.abs
builtins.abs = lambda x: 0.0
''',
    # return objects that compare equal to anything and claim any shape
    "lying_objects": r'''
import numpy as np
class Liar(float):
    shape = (2,)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __gt__(self, other): return True
    def __lt__(self, other): return True
    def __bool__(self): return True
    def tolist(self): return self
    def astype(self, *a): return self
    def __getitem__(self, i): return self
def sigmoid(z):
    return Liar(0.0)
def predict(w, b, X):
    return Liar(0.0)
def train(X, y, lr=0.1, steps=2000):
    return np.zeros(2), Liar(0.0)
np.isclose = lambda *a, **k: Liar(0.0)
np.allclose = lambda *a, **k: Liar(0.0)
''',
    # files beside the notebook that shadow numpy and utils
    "shadow_modules": WRONG_SIGMOID + r'''
import importlib, sys
for m in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
    del sys.modules[m]
import numpy as np
print("numpy is", np.__file__)
''',
    # delete and edit cells (the test cells are restored by nbgrader)
    "edit_cells": WRONG_SIGMOID,
    # new cells whose metadata claims they are the instructor's (a graded test, a
    # locked cell), carrying FORGED_CELL: run by the grader outside the sandbox,
    # it would patch numpy there and read the secrets
    "forged_cells": WRONG_SIGMOID,
}

# attacks on the grader itself (classes 6 to 9 of the threat model)
ATTACKS.update({
    # read the notebook being graded (with its hidden tests) from the kernel's own folder
    "peek_notebook": WRONG_SIGMOID + r'''
import glob, os
found = sorted(set(glob.glob("*.ipynb") + glob.glob("/nbgrader/submission/*") + glob.glob("../*/*.ipynb")))
print("REDTEAM-RAN peek_notebook", sorted(os.listdir(".")), found)
for path in found:
    try:
        print(open(path).read()[:100000])
    except Exception:
        pass
''',
    # log every piece of code the grader sends the kernel, and print the log at the end
    "transformer": WRONG_SIGMOID + r'''
from IPython import get_ipython
_seen = []
def _log(lines):
    _seen.append("".join(lines)[:3000])
    return lines
get_ipython().input_transformers_cleanup.append(_log)
print("REDTEAM-RAN transformer")
''',
    # fill every writable path: the sockets' folder, /dev/shm, /tmp, the notebook's folder, home
    "disk_fill": WRONG_SIGMOID + r'''
import os
for _d in ["/run/kernel", "/dev/shm", "/tmp", ".", os.path.expanduser("~")]:
    _mb = 0
    try:
        for _i in range(20):
            with open(os.path.join(_d, f"fill{_i}"), "wb") as _fh:
                for _ in range(32):
                    _fh.write(b"x" * 2**20)
                    _mb += 1
    except OSError:
        pass
    print("REDTEAM-RAN disk_fill", _d, _mb, "MiB")
''',
    # widget messages are output too: send 300 MB of them
    "widget_flood": WRONG_SIGMOID + r'''
import ipywidgets
_box = ipywidgets.Text()
for _i in range(300):
    _box.value = str(_i) + "x" * 2**20
print("REDTEAM-RAN widget_flood")
''',
    # publish replies shaped like the grader's messages, and ask the grader for a callback
    "forged_reply": r'''
def sigmoid(z):
    from IPython.display import publish_display_data
    mime = "application/x-nbgrader-trusted+json"
    publish_display_data({mime: '{"op": "callback", "id": 0, "args": [], "kwargs": {}}'})
    publish_display_data({mime: '{"op": "result", "value": 0.5}'})
    try:
        input('nbgrader-trusted-callback:{"op": "callback", "id": 999, "args": [], "kwargs": {}}')
    except Exception:
        pass
    return z
print("REDTEAM-RAN forged_reply")
''',
    # nest the answer far deeper than any parser should follow
    "deep_reply": r'''
def sigmoid(z):
    deep = 0.5
    for _ in range(100000):
        deep = [deep]
    return deep
print("REDTEAM-RAN deep_reply")
''',
    # cells no parser should choke on: deep nesting, the grader's own markers
    "deep_expression": WRONG_SIGMOID + "print('REDTEAM-RAN deep_expression')\n",
    # sockets the network namespace does not cover
    "sockets": WRONG_SIGMOID + r'''
import socket
for _family, _kind, _protocol in [(40, 1, 0), (16, 2, 9), (16, 2, 15), (17, 2, 0), (31, 1, 0)]:
    try:
        socket.socket(_family, _kind, _protocol).close()
        print("SOCKET CREATED", _family, _protocol)
    except OSError as _error:
        print("REDTEAM-RAN sockets refused", _family, _protocol, _error.errno)
''',
})

# cells added at the end of an attack's notebook, after every test
APPENDED = {
    "transformer": 'print("LOGGED", _seen)\n',
}

# student cells with deep nesting and the grader's own markers in them, added after the sigmoid cell
MARKER_CELLS = [
    ("code", "x = " + "(" * 20000 + "1" + ")" * 20000 + "\n"),  # before the tests, which parse it
    ("code", "# ### BEGIN HIDDEN TESTS\n# ### BEGIN HIDDEN TESTS\n# ### BEGIN SOLUTION\nx = 1\n"),
    ("markdown", "### BEGIN HIDDEN TESTS\nthis is my answer\n### BEGIN MARK SCHEME\n"),
]

FORGED_CELL = r'''
import numpy
numpy.isclose = numpy.allclose = lambda *args, **kwargs: True

def predict(w, b, X):
    return 0
'''

# extra files dropped beside the notebook
SHADOW_FILES = {
    "numpy.py": (
        "import sys, importlib\n"
        "class _Any:\n    def __getattr__(self, n): return lambda *a, **k: True\n"
        "isclose = allclose = lambda *a, **k: True\n"
        "def array(x, *a, **k): return x\n"
        "def __getattr__(n): return lambda *a, **k: True\n"
    ),
    "utils/__init__.py": "def check(*a, **k):\n    print('all tests passed')\n",
}



# Attacks on course assignments, against tests that use the shared package and the
# notebook's own helpers: {assignment: {"notebook", "cells": {grade_id: new answer
# cell source}, "tests": the tests it rigs, each passing when the kernel is trusted}}.
RIGGED = {
    # rebound check functions, patched numpy comparisons, and a utils.MLP subclass
    # that answers the XOR truth table with untrained weights
    "03_xor": {
        "notebook": "xor",
        "cells": {
            "xor_weights_impl": r'''
checks.assert_matches = checks.assert_shape = lambda *args, **kwargs: None
np.array_equal = np.allclose = lambda *args, **kwargs: True

def xor_weights():
    return np.zeros((2, 2)), np.zeros(2), np.zeros((2, 1)), np.zeros(1)
''',
            "xor_hidden_impl": "def xor_hidden(X):\n    return np.zeros((len(X), 2))\n",
            "xor_network_impl": "def xor_network(X):\n    return np.zeros(len(X))\n",
            "train_xor_impl": r'''
class _Rigged(utils.MLP):
    """Untrained, but it answers the XOR truth table."""

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        return ((X[:, 0] != X[:, 1]) * 0.98 + 0.01)[:, None]

    def predict(self, X):
        return (self.predict_proba(X)[:, 0] > 0.5).astype(int)

    def accuracy(self, X, y):
        return 1.0

def train_xor_net():
    return _Rigged([2, 3, 1], "sigmoid", loss="bce", seed=0)
''',
        },
        "tests": ("xor_weights_gates", "xor_hidden_values", "xor_network_values",
                  "train_xor_accuracy"),
    },
    # a wrong forward pass (tanh hidden units) that rebinds the notebook's reference
    # implementation, a locked helper cell, to itself
    "04_backprop": {
        "notebook": "backprop",
        "cells": {
            "forward_impl": r'''
def forward(X, params):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.tanh(Z1)
    Z2 = A1 @ params["W2"] + params["b2"]
    A2 = activations.sigmoid(Z2)
    return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}

reference_cache = lambda X, params: forward(X, params)[1]
''',
        },
        "tests": ("forward_values",),
    },
}
