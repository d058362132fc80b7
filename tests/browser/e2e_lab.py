"""Drive a notebook in JupyterLab the way a person does, with Playwright.

Everything a test does to the notebook goes through the page: the URL, the
menus, the mouse and the keyboard. ``window.jupyterapp`` (exposed only by the
test server) is read, never used to act, to know *when* the kernel is really
attached and *when* a run has finished; what the person would see is then
checked in the DOM.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from e2e_images import Picture
from playwright.sync_api import Locator, Page

# --------------------------------------------------------------------------
# JavaScript snippets (read-only). `findPanel(path)` is prepended to each.
# --------------------------------------------------------------------------
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
"""

_KERNEL_STATE_JS = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  if (!p) return {ok: false, why: 'notebook panel not found'};
  const sc = p.sessionContext;
  const k = sc.session && sc.session.kernel;
  const dom = p.node;
  const name = dom.querySelector('.jp-KernelName');
  const ind = dom.querySelector('.jp-Notebook-ExecutionIndicator');
  const st = {
    sessionReady: sc.isReady,
    kernelId: k ? k.id : null,
    connection: k ? k.connectionStatus : null,
    status: k ? k.status : null,
    kernelName: name ? name.textContent.trim() : null,
    indicator: ind ? ind.getAttribute('data-status') : null,
  };
  st.ok = !!(st.sessionReady && k && st.connection === 'connected' && st.status === 'idle'
             && st.kernelName && !/^(No Kernel|Kernel|)$/i.test(st.kernelName)
             && st.indicator === 'idle');
  return st;
}
"""

# Waits for the kernel_info_reply on the *current* connection: proof that
# messages go both ways through the websocket the notebook uses.
_KERNEL_INFO_JS = _FIND_PANEL + """
async (path) => {
  const p = findPanel(path);
  const k = p.sessionContext.session.kernel;
  const info = await Promise.race([
    k.info, new Promise((_, rej) => setTimeout(() => rej(new Error('kernel_info timeout')), 20000))]);
  return {implementation: info.implementation, language: info.language_info && info.language_info.name};
}
"""

_RUN_STATE_JS = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  if (!p) return null;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  const cells = [];
  p.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    const prompt = c.node.querySelector('.jp-InputPrompt');
    cells.push({index: i, count: c.model.executionCount,
                state: c.model.executionState || null,
                prompt: prompt ? prompt.textContent.trim() : null});
  });
  return {status: k ? k.status : null, cells};
}
"""

_MODEL_OUTPUTS_JS = _FIND_PANEL + """
(path) => {
  const p = findPanel(path);
  const res = [];
  p.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    const outs = c.model.outputs;
    for (let j = 0; j < outs.length; j++) {
      const o = outs.get(j).toJSON();
      const data = o.data || {};
      res.push({cell: i, type: o.output_type, ename: o.ename || null, evalue: o.evalue || null,
                name: o.name || null, text: typeof o.text === 'string' ? o.text : (o.text || []).join(''),
                widget: 'application/vnd.jupyter.widget-view+json' in data});
    }
  });
  return res;
}
"""

# Tags every rendered widget output with data-e2e-widget=<n> and every control
# inside with data-e2e-control=<n>; returns what it found (document order).
_DISCOVER_JS = _FIND_PANEL + r"""
(path) => {
  const p = findPanel(path);
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const widgets = [];
  const controls = [];
  p.content.widgets.forEach((cell, ci) => {
    if (cell.model.type !== 'code') return;
    cell.node.querySelectorAll('.jp-OutputArea-output').forEach((out) => {
      const root = out.querySelector(':scope > .jupyter-widgets');
      if (!root) return;
      const wi = widgets.length;
      out.setAttribute('data-e2e-widget', String(wi));
      const imgs = Array.from(out.querySelectorAll('img'));
      imgs.forEach((img, k) => img.setAttribute('data-e2e-img', wi + ':' + k));
      const labels = [];
      const add = (el, kind, label) => {
        const id = String(controls.length);
        el.setAttribute('data-e2e-control', id);
        controls.push({id, widget: wi, cell: ci, kind, label: norm(label)});
        labels.push(norm(label));
      };
      out.querySelectorAll('.widget-inline-hbox').forEach((box) => {
        const lab = box.querySelector(':scope > label.widget-label');
        const label = lab ? lab.textContent : '';
        const cls = box.classList;
        if (cls.contains('widget-slider')) add(box, 'slider', label);
        else if (cls.contains('widget-dropdown')) add(box, 'dropdown', label);
        else if (cls.contains('widget-text') || cls.contains('widget-textarea')) add(box, 'text', label);
        else if (cls.contains('widget-checkbox')) {
          const span = box.querySelector('.widget-label-basic span');
          add(box, 'checkbox', label || (span ? span.textContent : ''));
        }
        else if (cls.contains('widget-toggle-buttons')) add(box, 'togglebuttons', label);
        else if (cls.contains('widget-radio')) add(box, 'radio', label);
        else if (cls.contains('widget-select')) add(box, 'select', label);
      });
      out.querySelectorAll('button.widget-button, button.widget-toggle-button').forEach((b) => {
        if (b.closest('.widget-toggle-buttons')) return;
        add(b, b.classList.contains('widget-toggle-button') ? 'toggle' : 'button',
            b.textContent.trim() || b.getAttribute('title') || '');
      });
      widgets.push({index: wi, cell: ci, images: imgs.length, labels});
    });
  });
  return {widgets, controls};
}
"""

# Text a person reads in a widget: readouts of controls and HTML/Label/Output
# widgets. `skip` = data-e2e-control id whose own readout is left out.
_READOUTS_JS = r"""
([widget, skip]) => {
  const out = document.querySelector(`[data-e2e-widget="${widget}"]`);
  if (!out) return null;
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const parts = [];
  out.querySelectorAll(
    '.widget-html-content, .widget-htmlmath-content, div.widget-label, .widget-readout, ' +
    '.widget-output .jp-OutputArea-output, .widget-valid, progress').forEach((el) => {
      const c = el.closest('[data-e2e-control]');
      if (skip !== null && c && c.getAttribute('data-e2e-control') === skip) return;
      parts.push(el.tagName === 'PROGRESS' ? String(el.value) : norm(el.textContent));
  });
  return parts.join(' | ');
}
"""

_CONTROL_VALUE_JS = r"""
(id) => {
  const el = document.querySelector(`[data-e2e-control="${id}"]`);
  if (!el) return null;
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const r = el.querySelector('.widget-readout');
  if (r) return norm(r.textContent);
  const sel = el.querySelector('select');
  if (sel) return Array.from(sel.selectedOptions).map(o => o.textContent).join(',');
  const cb = el.querySelector('input[type=checkbox]');
  if (cb) return String(cb.checked);
  const inp = el.querySelector('input, textarea');
  if (inp) return inp.value;
  const on = el.querySelectorAll('.mod-active, input:checked');
  if (on.length) return Array.from(on).map(e => norm(e.textContent) || e.value).join(',');
  return null;
}
"""

_IMG_STATE_JS = r"""
(widget) => Array.from(document.querySelectorAll(`[data-e2e-widget="${widget}"] img`)).map(img => ({
  src: img.currentSrc || img.src, complete: img.complete, w: img.naturalWidth, h: img.naturalHeight,
  shownW: img.getBoundingClientRect().width, shownH: img.getBoundingClientRect().height}))
"""

_IMG_BYTES_JS = r"""
async (sel) => {
  const img = document.querySelector(sel);
  const r = await fetch(img.currentSrc || img.src);
  const buf = new Uint8Array(await r.arrayBuffer());
  let s = '';
  for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  return btoa(s);
}
"""

_LOG_CONSOLE_JS = r"""
() => {
  const item = document.querySelector('.jp-LogConsoleStatusItem');
  return item ? item.textContent.trim() : null;
}
"""

ERROR_TEXT = re.compile(
    r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b|Error displaying widget",
    re.M,
)


class E2EError(AssertionError):
    pass


def _poll(fn, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Call fn until it returns a truthy value; return it, or raise with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise E2EError(f"timed out after {timeout:.0f}s waiting for {what}; last state: {last!r}")
        time.sleep(interval)


def menu(page: Page, top: str, item: str) -> None:
    """Click a menu bar entry, then an item of the menu it opens."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(f'.lm-Menu .lm-Menu-item:has(.lm-Menu-itemLabel:text-is("{item}"))').click()


def ensure_lab(page: Page, server, timeout: float = 90) -> float:
    """Load JupyterLab (fresh workspace) unless this page already shows it."""
    if page.url.startswith(server.base_url + "/lab") and page.locator("#jp-main-dock-panel").count():
        return 0.0
    t0 = time.monotonic()
    page.goto(server.url("lab", reset=""), wait_until="domcontentloaded")
    page.locator("#jp-main-dock-panel").wait_for(timeout=timeout * 1000)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=timeout * 1000)
    # The app is interactive once the launcher or a restored tab is shown.
    page.locator("#jp-main-dock-panel .lm-TabBar-tab").first.wait_for(timeout=timeout * 1000)
    return time.monotonic() - t0


def save_screenshot(page: Page, path: Path, locator: Locator | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (locator or page).screenshot(path=str(path), animations="disabled")
    return path


def close_all_tabs(page: Page, timeout: float = 15) -> None:
    """File > Close All Tabs, answering "Discard" to unsaved-changes dialogs."""
    if not page.locator("#jp-main-dock-panel .lm-TabBar-tab").count():
        return
    menu(page, "File", "Close All Tabs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        discard = page.locator(".jp-Dialog button", has_text=re.compile(r"^(Discard|Don't Save)$"))
        if discard.count():
            discard.first.click()
            continue
        if not page.locator("#jp-main-dock-panel .jp-NotebookPanel, #jp-main-dock-panel iframe,"
                            " #jp-main-dock-panel .jp-Dialog").count() and not page.locator(".jp-Dialog").count():
            return
        time.sleep(0.1)
    raise E2EError("tabs did not close")


# --------------------------------------------------------------------------
@dataclass
class Snapshot:
    readouts: str | None
    control_value: str | None
    srcs: list[str]
    pictures: list[Picture]  # decoded image bytes
    painted: list[Picture]  # screenshots of the <img> elements as shown
    raw: list[bytes] = field(default_factory=list)  # the image bytes as fetched


@dataclass
class NotebookSession:
    page: Page
    path: str  # relative to the server root, with forward slashes
    shots: Path
    timings: dict = field(default_factory=dict)
    console: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------- open
    def __post_init__(self):
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_pageerror)

    def _on_console(self, m):
        if m.type in ("error", "warning"):
            self.console.append(f"{m.type}: {m.text}")

    def _on_pageerror(self, e):
        self.console.append(f"pageerror: {e}")

    def detach(self):
        self.page.remove_listener("console", self._on_console)
        self.page.remove_listener("pageerror", self._on_pageerror)

    def open(self, server, timeout: float = 90) -> None:
        """File > Open from Path..., type the notebook's path, Enter."""
        t0 = time.monotonic()
        ensure_lab(self.page, server, timeout)
        menu(self.page, "File", "Open from Path…")
        dialog = self.page.locator(".jp-Dialog")
        dialog.locator("input").fill(self.path)
        dialog.locator("input").press("Enter")
        dialog.wait_for(state="detached")
        name = self.path.rsplit("/", 1)[-1]
        self.page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel",
                          has_text=name).wait_for(timeout=timeout * 1000)
        self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").first.wait_for(
            timeout=timeout * 1000)
        self.timings["open"] = time.monotonic() - t0

    def wait_kernel_attached(self, server, timeout: float = 60) -> dict:
        """Wait until a kernel is really attached, not the first 'idle' shown.

        JupyterLab shows an idle indicator with "No Kernel" before any
        kernel exists. Required here, all at once and twice in a row:
        the session is ready, its kernel's websocket is connected and idle,
        the toolbar shows a kernel name and an idle indicator, the server
        reports the kernel idle with a live connection, and a
        kernel_info_reply came back on this connection.
        """
        t0 = time.monotonic()

        def server_side(kernel_id):
            for s in server.sessions():
                k = s.get("kernel") or {}
                if s.get("path") == self.path and k.get("id") == kernel_id:
                    return k.get("execution_state") == "idle" and k.get("connections", 0) >= 1
            return False

        def attached():
            st = self.page.evaluate(_KERNEL_STATE_JS, self.path)
            return st if st.get("ok") and server_side(st["kernelId"]) else None

        _poll(attached, timeout, 0.2, "kernel attached")
        info = self.page.evaluate(_KERNEL_INFO_JS, self.path)
        time.sleep(0.25)
        st = _poll(attached, 10, 0.2, "kernel still attached after kernel_info")
        self.timings["kernel"] = time.monotonic() - t0
        return {**st, **info}

    # ------------------------------------------------------------------ run
    def run_all(self, timeout: float = 120) -> None:
        """Run > Run All Cells from the menu bar, then wait for the run to end."""
        t0 = time.monotonic()
        before = self.page.evaluate(_RUN_STATE_JS, self.path)
        menu(self.page, "Run", "Run All Cells")

        def started():
            st = self.page.evaluate(_RUN_STATE_JS, self.path)
            busy = any(c["state"] == "running" or c["prompt"] == "[*]:" for c in st["cells"])
            changed = [c["count"] for c in st["cells"]] != [c["count"] for c in before["cells"]]
            return st if (busy or changed) else None

        _poll(started, 15, 0.05, "Run All Cells to start")

        stable = {"n": 0}

        def finished():
            st = self.page.evaluate(_RUN_STATE_JS, self.path)
            done = st["status"] == "idle" and not any(
                c["state"] == "running" or c["prompt"] == "[*]:" for c in st["cells"])
            stable["n"] = stable["n"] + 1 if done else 0
            return st if stable["n"] >= 3 else None

        _poll(finished, timeout, 0.15, "all cells to finish")
        self.timings["run_all"] = time.monotonic() - t0

    def wait_widgets_rendered(self, timeout: float = 30) -> int:
        """Every widget-view output in the notebook model must be rendered as a
        widget in the page (not 'Loading widget...', not an error box)."""
        def count_ok():
            model = [o for o in self.page.evaluate(_MODEL_OUTPUTS_JS, self.path) if o["widget"]]
            rendered = self.page.evaluate(
                """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output'))
                     .filter(o => o.querySelector(':scope > .jupyter-widgets')
                                  && !o.querySelector('.jupyter-widgets-error-widget')
                                  && !/Loading widget/.test(o.textContent)).length""")
            return (len(model), rendered) if rendered >= len(model) else None

        try:
            n, _ = _poll(count_ok, timeout, 0.2, "widget outputs to render")
        except E2EError as e:
            raise E2EError(f"some widget outputs never rendered in JupyterLab (blank widget): {e}") from None
        return n

    # --------------------------------------------------------------- errors
    def errors(self, allow_stderr: re.Pattern | None = None) -> list[str]:
        """Every problem a person would see as an error in the notebook."""
        problems = []
        state = self.page.evaluate(_RUN_STATE_JS, self.path)
        for o in self.page.evaluate(_MODEL_OUTPUTS_JS, self.path):
            if o["type"] == "error":
                problems.append(f"cell {o['cell']}: {o['ename']}: {o['evalue']}")
            elif o["type"] == "stream" and o["name"] == "stderr":
                if allow_stderr is None or not allow_stderr.search(o["text"]):
                    problems.append(f"cell {o['cell']}: stderr: {o['text'].strip()[:500]}")
        never_ran = [c["index"] for c in state["cells"] if c["count"] is None]
        if never_ran:
            problems.append(f"code cells never executed: {never_ran}")
        dom = self.page.evaluate(
            r"""() => {
              const res = [];
              document.querySelectorAll('.jp-NotebookPanel .jupyter-widgets-error-widget').forEach(
                e => res.push('widget error: ' + e.textContent.trim().slice(0, 300)));
              document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output').forEach(e => {
                if (/Error displaying widget/.test(e.textContent)) res.push('widget error: ' + e.textContent.trim().slice(0, 300));
              });
              return res;
            }""")
        problems.extend(dom)
        # stderr inside widgets (an explorer's error area is an Output widget).
        for text in self.page.evaluate(
                """() => Array.from(document.querySelectorAll(
                     '.jp-NotebookPanel .widget-output .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                     .map(e => e.textContent)"""):
            if allow_stderr is None or not allow_stderr.search(text):
                problems.append(f"widget error area: {text.strip()[-500:]}")
        # Errors raised in widget callbacks land in the log console, not in a cell.
        log = self.page.evaluate(_LOG_CONSOLE_JS)
        if log and re.search(r"\d", log):
            problems.append(f"log console has messages: {log!r}")
        return problems

    # -------------------------------------------------------------- widgets
    def discover(self) -> dict:
        return self.page.evaluate(_DISCOVER_JS, self.path)

    def widget(self, index: int) -> Locator:
        return self.page.locator(f'[data-e2e-widget="{index}"]')

    def control(self, cid: str) -> Locator:
        return self.page.locator(f'[data-e2e-control="{cid}"]')

    def image_states(self, widget: int) -> list[dict]:
        return self.page.evaluate(_IMG_STATE_JS, widget)

    def wait_images_loaded(self, widget: int, timeout: float = 20) -> list[dict]:
        def ok():
            st = self.image_states(widget)
            return st if st and all(s["complete"] and s["w"] > 0 for s in st) else None
        return _poll(ok, timeout, 0.1, f"images of widget {widget} to load")

    def snapshot(self, widget: int, control: str | None, reuse: Snapshot | None = None) -> Snapshot:
        """Readouts and pictures of a widget. Pictures of `reuse` are kept when
        the <img> sources did not change since (saves fetching and screenshots)."""
        st = self.wait_images_loaded(widget)
        srcs = [s["src"] for s in st]
        if reuse is not None and reuse.srcs == srcs:
            return Snapshot(
                readouts=self.page.evaluate(_READOUTS_JS, [widget, control]),
                control_value=self.page.evaluate(_CONTROL_VALUE_JS, control) if control is not None else None,
                srcs=srcs, pictures=reuse.pictures, painted=reuse.painted, raw=reuse.raw,
            )
        pictures, painted, raw = [], [], []
        for k in range(len(st)):
            sel = f'[data-e2e-img="{widget}:{k}"]'
            raw.append(base64.b64decode(self.page.evaluate(_IMG_BYTES_JS, sel)))
            pictures.append(Picture.from_bytes(raw[-1]))
            painted.append(Picture.from_bytes(self.page.locator(sel).screenshot(animations="disabled")))
        return Snapshot(
            readouts=self.page.evaluate(_READOUTS_JS, [widget, control]),
            control_value=self.page.evaluate(_CONTROL_VALUE_JS, control) if control is not None else None,
            srcs=[s["src"] for s in st],
            pictures=pictures,
            painted=painted,
            raw=raw,
        )

    def act(self, control: dict, action) -> None:
        """Change a control as a person does: keyboard or mouse."""
        loc = self.control(control["id"])
        kind = control["kind"]
        loc.scroll_into_view_if_needed()
        if action.do == "keys":
            target = {
                "slider": ".noUi-handle",
                "dropdown": "select",
                "select": "select",
                "text": "input, textarea",
                "checkbox": "input[type=checkbox]",
            }.get(kind)
            focus = loc.locator(target).first if target else loc
            focus.focus()
            for key in action.keys:
                self.page.keyboard.press(key)
        elif action.do == "click":
            if kind in ("button", "toggle"):
                loc.click()
            elif kind == "checkbox":
                loc.locator("input[type=checkbox]").click()
            elif kind in ("togglebuttons", "radio"):
                loc.get_by_text(action.option, exact=True).click()
            else:
                raise E2EError(f"don't know how to click a {kind} ({control['label']!r})")
        elif action.do == "select":
            loc.locator("select").select_option(label=action.option)
        elif action.do == "drag":
            handle = loc.locator(".noUi-handle").first
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            self.page.mouse.move(x, y)
            self.page.mouse.down()
            self.page.mouse.move(x + action.dx, y, steps=8)
            self.page.mouse.up()
        elif action.do == "type":
            field_ = loc.locator(".widget-readout, input, textarea").first
            field_.click()
            self.page.keyboard.press("Control+A")
            self.page.keyboard.type(action.text)
            self.page.keyboard.press("Enter")
        else:
            raise E2EError(f"unknown action {action.do!r}")

    def wait_update(self, widget: int, before: Snapshot, control: str, timeout: float,
                    expect_image: bool) -> None:
        """Wait until the widget reacted and then stopped changing."""
        def reacted():
            srcs = [s["src"] for s in self.image_states(widget)]
            if expect_image:
                return srcs != before.srcs
            return (self.page.evaluate(_READOUTS_JS, [widget, control]) != before.readouts
                    or self.page.evaluate(_CONTROL_VALUE_JS, control) != before.control_value)

        _poll(reacted, timeout, 0.05, f"widget {widget} to react")
        # Settle: several key presses may cause several re-renders.
        last = {"key": None, "n": 0}

        def settled():
            st = self.page.evaluate(_RUN_STATE_JS, self.path)
            key = (tuple(s["src"] for s in self.image_states(widget)),
                   self.page.evaluate(_READOUTS_JS, [widget, control]))
            last["n"] = last["n"] + 1 if (key == last["key"] and st["status"] == "idle") else 0
            last["key"] = key
            return last["n"] >= 3
        _poll(settled, timeout, 0.15, f"widget {widget} to settle")

    def screenshot(self, name: str, locator: Locator | None = None) -> Path:
        return save_screenshot(self.page, self.shots / f"{name}.png", locator)
