"""The shell every interactive page shares: one offline HTML file, plotly.js embedded once, lazy drawing.

Pages are built from plain NumPy arrays (:mod:`.record`, :mod:`.heart`, :mod:`.beats`); this module
writes them (:func:`write_page`, atomically), embeds figures (:func:`fig_html`) and holds the CSS and
the only JavaScript of cardiacml besides the level-of-detail glue of :mod:`.record`: drawing the
figures of a page one after another, and a "drawn" counter the browser tests wait for. All drawing,
WebGL included, is plotly's.

Every string that comes from a user's file and reaches a page goes through :func:`esc` (HTML text
and attributes) or :func:`json_script` (a ``<script type="application/json">`` block).
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import numpy as np

from ...utils import atomic_path

PAGE_BUDGET = 10_000_000

_EPOCH_MS = 946_684_800_000.0  # 2000-01-01T00:00:00Z in ms

#: colours of the predicted classes (AAMI order N, S, V, F, Q; then cycling).
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#2ca02c", "#e377c2", "#17becf")

#: styles of the sections this module writes (also needed where they are embedded in another page)
SECTION_CSS = (".note{color:#555;font-size:.9em}.cm-section{margin:1.2em 0 2em 0}"
               ".cm-pending{background:#fafafa repeating-linear-gradient(45deg,#fafafa 0 12px,#f2f2f2 12px 24px)}"
               "@media print{.cm-interactive{display:none}}")
_CSS = ("body{font-family:system-ui,sans-serif;max-width:1250px;margin:1.2em auto;color:#222;padding:0 12px}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}h2{margin-top:1.4em}" + SECTION_CSS)

# Drawing: the first figure of a page is drawn at once; the others when they come near the screen
# (IntersectionObserver) or, failing that, one after another in idle time once the first is up.
# 3-D views cost ~0.5 s each in a software-WebGL browser, so a page is usable long before all are
# drawn. ``window.cardiacmlReady`` counts drawn figures (the browser tests wait on it) and
# ``window.cardiacmlTimes`` keeps when each was drawn.
_DRAW_JS = r"""
window.cardiacmlReady = 0; window.cardiacmlTimes = [["plotly.js", performance.now()]]; window.cardiacmlQueue = [];
(function(){
  var chain = Promise.resolve();   // one figure at a time, so the first view is not slowed down by the others
  function nextFrame(){ return new Promise(function(res){ requestAnimationFrame(function(){ setTimeout(res, 0); }); }); }
  function drawNow(item){
    var gd = document.getElementById(item.id), spec = JSON.parse(document.getElementById(item.id + '-json').textContent);
    return Plotly.newPlot(gd, spec.data, spec.layout, item.config).then(function(){
      return spec.frames ? Plotly.addFrames(gd, spec.frames) : null;
    }).then(function(){
      gd.classList.remove('cm-pending');
      item.post(gd);
      window.cardiacmlReady += 1; window.cardiacmlTimes.push([item.id, performance.now()]);
      gd.dispatchEvent(new Event('cardiacml:drawn'));
    });
  }
  window.cardiacmlDraw = function(id){
    var item = window.cardiacmlQueue.filter(function(q){ return q.id === id; })[0];
    if (!item) return Promise.resolve();
    if (!item.promise) {
      var first = chain === null;
      item.promise = chain = chain.then(nextFrame).then(function(){ return drawNow(item); })
        .catch(function(err){ console.error('cardiacml: drawing ' + id + ' failed: ' + err); });
    }
    return item.promise;
  };
  window.cardiacmlRegister = function(id, config, post){
    var item = {id: id, config: config, post: post, promise: null};
    var first = window.cardiacmlQueue.length === 0;
    window.cardiacmlQueue.push(item);
    if (first) { window.cardiacmlDraw(id); return; }
    if ('IntersectionObserver' in window) {   // scrolled near: draw it next
      var io = new IntersectionObserver(function(es){
        if (es.some(function(e){ return e.isIntersecting; })) { io.disconnect(); window.cardiacmlDraw(id); }
      }, {rootMargin: '400px'});
      io.observe(document.getElementById(id));
    }
  };
  window.addEventListener('load', function(){   // then all the others, in page order
    window.cardiacmlQueue.forEach(function(q){ window.cardiacmlDraw(q.id); });
  });
})();
"""

def _plotlyjs_tag() -> str:
    from plotly.offline import get_plotlyjs

    return f"<script type='text/javascript'>{get_plotlyjs()}</script>"


_CONFIG = {"displaylogo": False, "scrollZoom": True, "responsive": True,
           "toImageButtonOptions": {"format": "png", "scale": 2}}


_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_text(obj_or_json) -> str:
    """JSON safe inside a ``<script type="application/json">`` block: ``<``, ``>``, ``&`` (and the JS line
    separators) become ``\\u003c``-style escapes, so no string from a user's file (``</script>``, ``<!--``)
    can end the block or start markup; ``JSON.parse`` reads the same values back. Takes an object or JSON text."""
    text = obj_or_json if isinstance(obj_or_json, str) else json.dumps(obj_or_json)
    return text.translate(_JSON_ESCAPES)


def json_script(obj_or_json, element_id: str) -> str:
    """A ``<script type='application/json'>`` block holding ``obj_or_json`` escaped by :func:`json_text`."""
    return f"<script type='application/json' id='{html.escape(element_id, quote=True)}'>{json_text(obj_or_json)}</script>"


def esc(text) -> str:
    """HTML text or attribute value from any string (quotes included)."""
    return html.escape(str(text), quote=True)


def fig_html(fig, div_id: str, post_script: str | list | None = None, height: int | None = None) -> str:
    """One figure as a ``<div>`` + its JSON + a script registering it for drawing (no plotly.js).

    ``post_script`` (JavaScript, may use ``{plot_id}``) runs once the figure is drawn.
    """
    scripts = [post_script] if isinstance(post_script, str) else list(post_script or [])
    post = "\n".join(s.replace("{plot_id}", div_id) for s in scripts)
    h = height or fig.layout.height or 500
    return (f"<div id='{div_id}' class='plotly-graph-div cm-pending' style='height:{h}px;width:100%'></div>"
            + json_script(fig.to_json(), f"{div_id}-json") +
            f"<script>cardiacmlRegister('{div_id}', {json.dumps(_CONFIG)}, function(gd){{{post}}});</script>")


def section(title: str, body: str, note: str = "") -> str:
    n = f"<p class='note'>{note}</p>" if note else ""
    return f"<div class='cm-section'><h2>{html.escape(title)}</h2>{n}{body}</div>"


def page_scripts() -> str:
    """The ``<script>`` tags a page with figures from this module needs once (plotly.js inline + drawing glue)."""
    return f"{_plotlyjs_tag()}<script>{_DRAW_JS}</script>"


def write_page(path: str | os.PathLike, title: str, sections: list[str], intro: str = "") -> Path:
    """Write a complete offline page (plotly.js inline) atomically; warn if it exceeds the budget."""
    path = Path(path)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style>{page_scripts()}</head><body><h1>{html.escape(title)}</h1>{intro}"
            + "".join(sections) + "</body></html>")
    data = page.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    if len(data) > PAGE_BUDGET:
        import warnings

        warnings.warn(f"{path}: page is {len(data) / 1e6:.1f} MB, over the {PAGE_BUDGET / 1e6:.0f} MB budget")
    return path


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def table(rows, header, fmt=_fmt) -> str:
    """An HTML table; every cell is escaped (cells may come from users' files). ``fmt(value) -> str``."""
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()


def colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


