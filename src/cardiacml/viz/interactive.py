"""Interactive, self-contained HTML pages (plotly): a whole recording, the 3-D heart, a beat run.

Every page is one offline file: plotly.js is embedded inline once per page (no CDN), so it
opens from ``file://`` on a machine without network. Pages are built from plain NumPy arrays
so that ``cardiacml report`` and ``cardiacml predict --html`` can call them directly:

* :func:`record_page`: a raw recording (up to 24 h) as a zoomable strip, every beat marked and
  coloured by its predicted class, hover with probabilities, per-class summary table;
* :func:`heart_page`: the real heart mesh (surface of ``load_geometry()``), site values
  Shepard-interpolated exactly as the static renders in :mod:`cardiacml.viz.heart`; true vs
  predicted activation maps with one colour scale, Vm over time with a slider and play button,
  a 12-lead ECG viewer on a calibrated grid;
* :func:`beat_run_page`: confusion matrix and example beats per class with their probabilities.

:func:`save_examples` writes the ``examples.npz`` a run folder keeps for these views and
:func:`report_sections` turns a run folder into HTML fragments for ``cardiacml report``.

The only JavaScript written here is glue (level-of-detail for long recordings, drawing the figures
of a page one after another, a "drawn" counter the browser tests wait for); all drawing, WebGL
included, is plotly's. True and predicted hearts share one 3-D scene (side by side on one
turntable): they always turn together, and the page needs one WebGL context instead of two.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import numpy as np

from ..utils import atomic_path

#: largest page this module writes on purpose (bytes); the plotly.js bundle alone is ~4.8 MB.
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


def _fig_html(fig, div_id: str, post_script: str | list | None = None, height: int | None = None) -> str:
    """One figure as a ``<div>`` + its JSON + a script registering it for drawing (no plotly.js).

    ``post_script`` (JavaScript, may use ``{plot_id}``) runs once the figure is drawn.
    """
    scripts = [post_script] if isinstance(post_script, str) else list(post_script or [])
    spec = fig.to_json().replace("</", "<\\/")  # plotly's encoder also escapes "/"; never end the script early
    post = "\n".join(s.replace("{plot_id}", div_id) for s in scripts)
    h = height or fig.layout.height or 500
    return (f"<div id='{div_id}' class='plotly-graph-div cm-pending' style='height:{h}px;width:100%'></div>"
            f"<script type='application/json' id='{div_id}-json'>{spec}</script>"
            f"<script>cardiacmlRegister('{div_id}', {json.dumps(_CONFIG)}, function(gd){{{post}}});</script>")


def _section(title: str, body: str, note: str = "") -> str:
    n = f"<p class='note'>{note}</p>" if note else ""
    return f"<div class='cm-section'><h2>{html.escape(title)}</h2>{n}{body}</div>"


def page_scripts() -> str:
    """The ``<script>`` tags a page with figures from this module needs once (plotly.js inline + drawing glue)."""
    return f"{_plotlyjs_tag()}<script>{_DRAW_JS}</script>"


def _write_page(path: str | os.PathLike, title: str, sections: list[str], intro: str = "") -> Path:
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


def _table(rows, header) -> str:
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()


def _colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


# --------------------------------------------------------------------------------------------- record page


def _minmax(x: np.ndarray, bucket: int) -> np.ndarray:
    """Min/max decimation: for every ``bucket`` samples, the min and the max in their order of occurrence.

    Returns 2 * ceil(n / bucket) values; drawn at half-bucket spacing they keep every peak
    (an R wave never disappears at any zoom, which plain subsampling does not guarantee).
    """
    n = len(x)
    nb = -(-n // bucket)
    pad = nb * bucket - n
    xb = np.concatenate([x, np.full(pad, x[-1], x.dtype)]).reshape(nb, bucket)
    imin, imax = xb.argmin(1), xb.argmax(1)
    lo, hi = xb[np.arange(nb), imin], xb[np.arange(nb), imax]
    first = np.where(imin <= imax, lo, hi)
    second = np.where(imin <= imax, hi, lo)
    return np.stack([first, second], 1).ravel()


def _pack(v: np.ndarray) -> str:
    """int16 values -> base64 of zlib-deflated little-endian deltas (ECG deltas deflate to ~1/3)."""
    import zlib

    d = np.diff(v.astype(np.int32), prepend=0).astype("<i2")  # wraps mod 2**16; the browser's Int16Array wraps back
    return base64.b64encode(zlib.compress(d.tobytes(), 6)).decode()


def _levels(q: np.ndarray, budget_bytes: float, min_points: int = 20_000) -> list[tuple[int, str]]:
    """Level-of-detail pyramid of an int16 trace: [(bucket, packed values)], finest first.

    bucket 1 = every sample; bucket b > 1 = min/max pairs of b samples. The finest level is the
    finest whose packed size fits ``budget_bytes`` (less the coarser levels, ~15 %); coarser levels
    follow in steps of 8 until one has fewer than ``min_points`` values.
    """
    n = len(q)
    budget = 0.85 * budget_bytes
    bucket = 1
    while True:
        packed = _pack(q if bucket == 1 else _minmax(q, bucket))
        if len(packed) <= budget or bucket >= max(2, n // min_points):
            break
        bucket = max(bucket + 1, int(np.ceil(bucket * len(packed) / budget * 1.05)))
    out = [(bucket, packed)]
    while (n if bucket == 1 else 2 * n / bucket) > min_points:
        bucket = max(bucket * 8, 8)
        out.append((bucket, _pack(_minmax(q, bucket))))
    return out


def _quantum(sig: np.ndarray) -> float:
    """Step of the signal's own grid (e.g. 5 uV for MIT-BIH's ADC), else 0."""
    d = np.abs(np.diff(sig[: 200_000]))
    d = d[d > 1e-9]
    if not d.size:
        return 0.0
    step = float(d.min())
    k = sig[: 200_000] / step
    return step if np.allclose(k, np.round(k), atol=1e-3) else 0.0


_LOD_JS = r"""
(function(){
  var gd = document.getElementById('{plot_id}');
  var spec = JSON.parse(document.getElementById('{plot_id}-lod').textContent);
  var total = spec.n / spec.fs * 1000, base = spec.base;   // times on the axis: ms from 2000-01-01 (see record_figure)
  function unpack(b64){
    var bin = atob(b64), u8 = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    var stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).arrayBuffer().then(function(buf){
      var v = new Int16Array(buf);
      for (var i = 1; i < v.length; i++) v[i] = v[i - 1] + v[i];   // undo the deltas (mod 2**16, like the encoder)
      return v;
    });
  }
  function toMs(v){
    if (typeof v === 'number') return v;
    var m = /^(-?\d+)-(\d+)-(\d+)(?:[ T](\d+):(\d+)(?::(\d+(?:\.\d*)?))?)?/.exec(String(v));
    if (!m) return NaN;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) + 1000 * (+(m[6] || 0));
  }
  var levels = null, busy = false, again = false;
  function update(){
    if (!levels) return;
    if (busy) { again = true; return; }
    var r = gd.layout.xaxis.range, t0 = toMs(r[0]), t1 = toMs(r[1]);
    if (!isFinite(t0) || !isFinite(t1)) return;
    var span = t1 - t0;
    // the visible window and half a window on each side, at the finest level with at most max_points values
    var s0 = Math.max(0, Math.floor((t0 - base - span / 2) / 1000 * spec.fs)), s1 = Math.min(spec.n, Math.ceil((t1 - base + span / 2) / 1000 * spec.fs));
    var L = levels[levels.length - 1];
    for (var k = 0; k < levels.length; k++) {
      if ((s1 - s0) / levels[k].bucket * (levels[k].bucket > 1 ? 2 : 1) <= spec.max_points) { L = levels[k]; break; }
    }
    var per = L.bucket > 1 ? 2 : 1, step = L.bucket / per, off = L.bucket > 1 ? step / 2 : 0;
    var i0 = Math.floor(s0 / L.bucket) * per, i1 = Math.min(L.v.length, Math.ceil(s1 / L.bucket) * per);
    var n = Math.max(0, i1 - i0), x = new Array(n), y = new Array(n);
    for (var i = 0; i < n; i++) { x[i] = ((i0 + i) * step + off) / spec.fs * 1000 + base; y[i] = L.v[i0 + i] * spec.scale + spec.offset; }
    busy = true;
    gd.dataset.lodBucket = L.bucket;
    var tr = gd.data[spec.trace];
    tr.x = x; tr.y = y; tr.name = L.bucket > 1 ? spec.lead + ' (min/max of ' + L.bucket + ' samples)' : spec.lead;
    var box = gd.layout.shapes[0]; box.x0 = t0; box.x1 = t1;
    gd.layout.datarevision = (gd.layout.datarevision || 0) + 1;
    // Plotly.react, not restyle: restyling x makes plotly re-guess the axis type (date -> linear)
    Plotly.react(gd, gd.data, gd.layout).then(done, done);
  }
  function done(){ busy = false; gd.dataset.lodUpdates = (+gd.dataset.lodUpdates || 0) + 1; if (again) { again = false; update(); } }
  gd.on('plotly_relayout', function(ev){
    if (ev['xaxis.autorange']) {   // "all" button or double-click: the whole recording (autorange misreads typed dates)
      Plotly.relayout(gd, {'xaxis.range': [base, base + total]});
      return;
    }
    for (var key in ev) { if (key.indexOf('xaxis.') === 0) { update(); return; } }
  });
  gd.on('plotly_click', function(ev){   // a click on the overview strip centres the view there
    var p = ev.points && ev.points[0];
    if (!p || p.curveNumber !== spec.overview) return;
    var r = gd.layout.xaxis.range, span = toMs(r[1]) - toMs(r[0]), c = toMs(p.x);
    var a = Math.max(base, Math.min(base + total - span, c - span / 2));
    Plotly.relayout(gd, {'xaxis.range': [a, a + span]});
  });
  Promise.all(spec.levels.map(function(L){ return unpack(L.data); })).then(function(vs){
    levels = spec.levels.map(function(L, k){ return {bucket: L.bucket, v: vs[k]}; });
    update();
  });
})();
"""


def record_figure(signal: np.ndarray, fs: float, beat_times_s: np.ndarray, predicted: np.ndarray,
                  probabilities: np.ndarray, class_names, *, lead_name: str = "ECG", reference=None,
                  detail_budget_bytes: float | None = None, view_points: int = 40_000, initial_window_s: float = 20.0,
                  overview_points: int = 8_000):
    """The strip figure of :func:`record_page` and the level-of-detail data its script needs.

    Returns ``(fig, lod_spec, post_script)``. ``detail_budget_bytes``: room for the packed trace
    (default: what is left of the 10 MB page after plotly.js and the beat markers).
    """
    import plotly.graph_objects as go

    sig = np.asarray(signal, np.float64).ravel()
    n = len(sig)
    fs = float(fs)
    times = np.asarray(beat_times_s, np.float64).ravel()
    pred = np.asarray(predicted).astype(np.int64).ravel()
    prob = np.asarray(probabilities, np.float32)
    classes = [str(c) for c in class_names]
    if prob.ndim != 2 or prob.shape != (len(times), len(classes)) or pred.shape != times.shape:
        from ..errors import DataFormatError

        raise DataFormatError(f"record page: {len(times)} beat times, predicted {pred.shape}, probabilities "
                              f"{prob.shape} and {len(classes)} classes do not match")
    ref = None if reference is None else np.asarray(reference).astype(np.int64).ravel()

    lo, hi = np.percentile(sig, [0.05, 99.95])
    pad = 0.15 * (hi - lo + 1e-6)
    # sample -> ms on the date axis, counted from 2000-01-01 00:00:00 UTC: plotly reads a number of 4 digits or fewer
    # on a date axis as a year, so times must never be small integers (the clock shown is the time into the record)
    t_ms = lambda s: np.asarray(s, np.float64) / fs * 1000.0 + _EPOCH_MS  # noqa: E731
    w0 = min(n, int(initial_window_s * fs))
    ob = max(1, int(np.ceil(2 * n / overview_points)))
    ov = _minmax(sig, ob) if ob > 1 else sig
    fig = go.Figure()
    # trace 0: the visible window (every sample at first; the page's script keeps it at the right level)
    fig.add_trace(go.Scatter(x=t_ms(np.arange(w0)), y=sig[:w0].astype(np.float32), mode="lines",
                             line=dict(color="black", width=1), name=lead_name, hoverinfo="skip", xaxis="x", yaxis="y"))
    # trace 1: the whole recording, min/max overview in its own strip below (click it to jump there).
    # Not plotly's rangeslider: that mirrors trace 0, which holds only the window.
    fig.add_trace(go.Scatter(x=t_ms(np.arange(len(ov)) * (ob / 2) + (ob / 4 if ob > 1 else 0)), y=ov.astype(np.float32),
                             mode="lines", line=dict(color="#888", width=0.6), name="whole recording", hoverinfo="none",
                             showlegend=False, xaxis="x2", yaxis="y2"))
    ridx = np.clip(np.round(times * fs).astype(np.int64), 0, n - 1)
    yb = (sig[ridx] + pad * 0.35).astype(np.float32)
    x_ms = np.round(times * 1000.0) + _EPOCH_MS
    pct = np.clip(np.round(prob * 100), 0, 100).astype(np.uint8)  # probabilities in %, 1 byte each
    prob_lines = "<br>".join(f"p({html.escape(c)}) = %{{customdata[{j}]}} %" for j, c in enumerate(classes))
    for k, c in enumerate(classes):
        m = pred == k
        ref_line = "" if ref is None else "<br>reference: %{text}"
        fig.add_trace(go.Scattergl(
            x=x_ms[m], y=yb[m], mode="markers", name=f"{c} ({int(m.sum()):,})",
            marker=dict(color=_colour(k), size=8 if k else 6, symbol="triangle-down", line=dict(width=0)),
            customdata=pct[m], text=None if ref is None else [classes[r] if 0 <= r < len(classes) else "?" for r in ref[m]],
            hovertemplate=f"<b>%{{x|%H:%M:%S.%L}}</b><br>predicted: <b>{html.escape(c)}</b><br>{prob_lines}{ref_line}<extra></extra>"))
    if ref is not None:
        known = (ref >= 0) & (ref < len(classes))
        bad = known & (ref != pred)
        fig.add_trace(go.Scattergl(x=x_ms[bad], y=yb[bad], mode="markers",
                                   name=f"prediction ≠ reference ({int(bad.sum()):,})", hoverinfo="skip",
                                   marker=dict(size=15, color="rgba(0,0,0,0)", line=dict(color="black", width=1.5))))
    total_ms = n / fs * 1000.0
    buttons = [dict(count=5, label="5 s", step="second", stepmode="backward"),
               dict(count=20, label="20 s", step="second", stepmode="backward"),
               dict(count=2, label="2 min", step="minute", stepmode="backward"),
               dict(count=30, label="30 min", step="minute", stepmode="backward"), dict(step="all", label="all")]
    stops = [dict(dtickrange=[None, 1000], value="%H:%M:%S.%L"), dict(dtickrange=[1000, None], value="%H:%M:%S")]
    fig.update_layout(
        height=560, margin=dict(l=60, r=20, t=80, b=30), template="plotly_white", dragmode="pan", hovermode="closest",
        legend=dict(orientation="h", y=1.01, yanchor="bottom", x=1, xanchor="right", title_text="predicted class:"),
        xaxis=dict(type="date", range=[_EPOCH_MS, float(t_ms(w0))], tickformatstops=stops, anchor="y",
                   rangeselector=dict(buttons=buttons, x=0, y=1.02, yanchor="bottom")),
        yaxis=dict(title_text=f"{lead_name} (mV)", range=[lo - pad, hi + pad], domain=[0.25, 1.0], showgrid=True,
                   gridcolor="#f0c8c8", zeroline=False),
        xaxis2=dict(type="date", range=[_EPOCH_MS, _EPOCH_MS + total_ms], fixedrange=True, anchor="y2", tickformatstops=stops,
                    title=dict(text="whole recording (hh:mm:ss): click to jump; the blue band is the view", font=dict(size=11))),
        yaxis2=dict(domain=[0.0, 0.14], fixedrange=True, showticklabels=False, showgrid=False, zeroline=False),
        shapes=[dict(type="rect", xref="x2", yref="y2 domain", x0=_EPOCH_MS, x1=float(t_ms(w0)), y0=0, y1=1,
                     fillcolor="rgba(31,119,180,0.25)", line=dict(color="rgba(31,119,180,0.9)", width=1))],
    )
    # int16 quantisation of the trace on the signal's own grid (5 uV for MIT-BIH) or 1 uV when the range allows
    offset = float(np.median(sig))
    amp = float(np.max(np.abs(sig - offset)))
    quantum = _quantum(sig)
    scale = max(quantum or 1e-3, amp / 32000.0)
    if quantum:
        offset = round(offset / quantum) * quantum
    q = np.round((sig - offset) / scale).astype(np.int16)
    if detail_budget_bytes is None:
        from plotly.offline import get_plotlyjs

        fixed = len(get_plotlyjs()) + len(fig.to_json()) + 60_000
        detail_budget_bytes = max(200_000, 0.97 * PAGE_BUDGET - fixed)
    levels = _levels(q, detail_budget_bytes)
    spec = {"fs": fs, "n": n, "base": _EPOCH_MS, "scale": scale, "offset": offset, "max_points": view_points, "lead": lead_name,
            "trace": 0, "overview": 1, "levels": [{"bucket": b, "data": v} for b, v in levels]}
    return fig, spec, _LOD_JS


def _record_summary(times, pred, prob, classes, duration_s, ref) -> str:
    hours = max(duration_s / 3600.0, 1e-9)
    rows = []
    for k, c in enumerate(classes):
        m = pred == k
        row = [c, int(m.sum()), 100.0 * m.mean() if len(m) else float("nan"), m.sum() / hours,
               float(prob[m, k].mean()) if m.any() else float("nan")]
        if ref is not None:
            r = ref == k
            row += [int(r.sum()), float((pred[r] == k).mean()) if r.any() else float("nan")]
        rows.append(row)
    header = ["predicted class", "beats", "% of beats", "per hour", "mean probability of the predicted class"]
    if ref is not None:
        header += ["reference beats", "recall vs reference (all: agreement)"]
    rows.append(["all", len(pred), 100.0, len(pred) / hours, float(prob.max(1).mean()) if len(pred) else float("nan")]
                + ([int(((ref >= 0) & (ref < len(classes))).sum()),
                    float((pred == ref)[(ref >= 0) & (ref < len(classes))].mean()) if len(ref) else float("nan")]
                   if ref is not None else []))
    return _table(rows, header)


def record_page(signal: np.ndarray, fs: float, beat_times_s: np.ndarray, predicted: np.ndarray,
                probabilities: np.ndarray, class_names, path: str | os.PathLike, *, title: str = "cardiacml: recording",
                lead_name: str = "ECG", reference=None) -> Path:
    """Write an interactive page of a whole recording with every beat's predicted class.

    Parameters
    ----------
    signal : ndarray, shape (n,), mV
        The raw lead at its own sampling rate (e.g. 30 min or 24 h at 360 Hz).
    fs : float
        Sampling rate of ``signal`` (Hz).
    beat_times_s : ndarray, shape (m,), s
        Time of each classified beat (R peak) from the start of ``signal``.
    predicted : ndarray, shape (m,), int
        Predicted class index of each beat.
    probabilities : ndarray, shape (m, C)
        Predicted class probabilities.
    class_names : sequence of str, length C
    path : path of the ``.html`` page to write (atomically).
    title, lead_name : str
        Page title; the lead's name for the axis (e.g. ``"MLII"``).
    reference : ndarray, shape (m,), int, optional
        Reference labels (e.g. from annotations); negative or out-of-range = unknown.
        Beats where the prediction disagrees are circled, recall is added to the table.

    Notes
    -----
    The trace is kept in the page as int16 (on the signal's own ADC grid when it has one, else
    1 uV steps), delta-coded and deflated (the browser inflates it with its built-in
    ``DecompressionStream``). Every sample is kept when that fits the 10 MB page (MIT-BIH's
    30-min records use ~1 MB); longer recordings keep min/max pairs of the smallest bucket that
    fits (a 24-h Holter at 360 Hz: buckets of a few samples, see the page's note), so R waves
    never vanish. For the visible window the browser draws the finest level with at most
    40,000 points; an overview strip below always shows the whole recording.

    Returns
    -------
    Path of the page.
    """
    sig = np.asarray(signal, np.float64).ravel()
    if sig.size == 0 or not np.isfinite(sig).all():
        from ..errors import DataFormatError

        raise DataFormatError(f"record page {path}: the signal is empty or has NaN/infinite values")
    fig, spec, js = record_figure(sig, fs, beat_times_s, predicted, probabilities, class_names, lead_name=lead_name,
                                  reference=reference)
    times = np.asarray(beat_times_s, np.float64).ravel()
    pred = np.asarray(predicted).astype(np.int64).ravel()
    prob = np.asarray(probabilities, np.float32)
    ref = None if reference is None else np.asarray(reference).astype(np.int64).ravel()
    classes = [str(c) for c in class_names]
    dur = len(sig) / float(fs)
    div = "record-strip"
    lod = f"<script type='application/json' id='{div}-lod'>{json.dumps(spec)}</script>"
    detail = ("every sample" if spec["levels"][0]["bucket"] == 1 else
              f"min/max of every {spec['levels'][0]['bucket']} samples at most ({spec['levels'][0]['bucket'] / fs * 1000:.0f} ms)")
    note = (f"{len(sig):,} samples at {fs:g} Hz ({_hms(dur)}), {len(times):,} beats. Drag to pan, scroll or drag a box to "
            f"zoom, click the overview strip at the bottom to jump, or use the buttons above; hover a marker for the beat's class "
            f"probabilities; click a class in the legend to hide it. Detail kept in this page: {detail}.")
    strip = _fig_html(fig, div, js, height=520)
    summary = _record_summary(times, pred, prob, classes, dur, ref)
    return _write_page(path, title, [_section("Per-class summary", summary), _section("Recording", lod + strip, note)])


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:d} h {s % 3600 // 60:02d} min {s % 60:02d} s" if s >= 3600 else f"{s // 60:d} min {s % 60:02d} s"


# --------------------------------------------------------------------------------------------- heart page


def _outward(g, faces: np.ndarray) -> np.ndarray:
    """Boundary triangles wound so their normals point out of the tetrahedron they belong to.

    ``boundary_faces`` keeps each face in the order its tetrahedron lists it, so neighbouring
    triangles may face opposite ways; WebGL's per-vertex normals then cancel and the surface
    shows dark blotches. The fourth vertex of the owning tetrahedron lies inside, so a face whose
    normal points towards it is flipped.
    """
    t = g.tetra
    all_faces = np.concatenate([t[:, [0, 1, 2]], t[:, [0, 1, 3]], t[:, [0, 2, 3]], t[:, [1, 2, 3]]])
    opposite = np.concatenate([t[:, 3], t[:, 2], t[:, 1], t[:, 0]])
    n_pts = len(g.points)
    key = lambda f: (lambda s: (s[:, 0] * n_pts + s[:, 1]) * n_pts + s[:, 2])(np.sort(f, axis=1).astype(np.int64))  # noqa: E731
    order = np.argsort(key(all_faces))
    ks = key(all_faces)[order]
    pos = order[np.searchsorted(ks, key(faces))]
    p = g.points
    normal = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    inward = np.einsum("ij,ij->i", normal, p[opposite[pos]] - p[faces].mean(1)) > 0
    out = faces.copy()
    out[inward] = out[inward][:, [0, 2, 1]]
    return out


class _Surface:
    """The heart's surface triangles re-indexed onto the surface vertices, plus Shepard weights."""

    def __init__(self, geometry=None):
        from ..data.geometry import load_geometry

        self.g = geometry or load_geometry()
        faces = _outward(self.g, self.g.boundary_faces())
        self.vertices, inv = np.unique(faces, return_inverse=True)
        self.faces = inv.reshape(faces.shape).astype(np.int32)
        self.xyz = self.g.points[self.vertices]

    def offsets(self, n: int) -> list[float]:
        """x shifts (mm) that set ``n`` copies of the heart side by side in one 3-D scene."""
        lo, hi = self.xyz.min(0), self.xyz.max(0)
        return [k * 1.2 * (hi[0] - lo[0]) for k in range(n)]

    def scene(self, titles, domain_y=(0.12, 0.95)) -> dict:
        """One 3-D scene holding the copies side by side, each titled above it (titles turn with the heart)."""
        lo, hi = self.xyz.min(0), self.xyz.max(0)
        ann = [dict(x=float((lo[0] + hi[0]) / 2 + dx), y=float((lo[1] + hi[1]) / 2), z=float(hi[2] + 0.2 * (hi[2] - lo[2])),
                    text=f"<b>{t}</b>", showarrow=False, font=dict(size=15, color="#222"))
               for t, dx in zip(titles, self.offsets(len(titles)))]
        d = 1.05 if len(titles) > 1 else 1.5  # camera distance: the pair fills the width
        camera = dict(eye=dict(x=0.0, y=-d, z=0.25 * d), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=-0.05))
        return dict(_SCENE, domain=dict(x=[0, 1], y=list(domain_y)), annotations=ann, camera=camera)

    def interpolate(self, site_values: np.ndarray) -> np.ndarray:
        """(75,) or (75, T) -> (V,) or (V, T): cardiacml.viz.heart.shepard_interpolate on the surface vertices."""
        from .heart import shepard_interpolate

        return shepard_interpolate(site_values, self.g, points=self.xyz)

    def mesh(self, intensity, *, scene: str, coloraxis: str, name: str, hovertemplate=None, dx: float = 0.0):
        import plotly.graph_objects as go

        x, y, z = (self.xyz + [dx, 0.0, 0.0]).T.astype(np.float32)
        i, j, k = self.faces.T.astype(np.uint16 if len(self.xyz) < 65536 else np.int32)
        return go.Mesh3d(x=x, y=y, z=z, i=i, j=j, k=k, intensity=intensity, intensitymode="vertex", coloraxis=coloraxis,
                         scene=scene, name=name, flatshading=False, hovertemplate=hovertemplate,
                         hoverinfo=None if hovertemplate else "skip",
                         lighting=dict(ambient=0.55, diffuse=0.6, specular=0.15, roughness=0.8, fresnel=0.1),
                         lightposition=dict(x=1e5, y=1e5, z=1e5))

    def sites(self, values, *, scene: str, name: str, unit: str, extra=None, dx: float = 0.0):
        import plotly.graph_objects as go

        cd = np.asarray(values, np.float32)[:, None] if extra is None else np.stack([values, extra], 1).astype(np.float32)
        extra_t = "" if extra is None else "<br>%{meta}: %{customdata[1]:.1f} " + unit
        return go.Scatter3d(x=self.g.site_xyz[:, 0] + dx, y=self.g.site_xyz[:, 1], z=self.g.site_xyz[:, 2], mode="markers",
                            scene=scene, name=name, text=list(self.g.site_names), customdata=cd, showlegend=False,
                            marker=dict(size=3, color="black"),
                            hovertemplate=f"<b>%{{text}}</b><br>{name}: %{{customdata[0]:.1f}} {unit}{extra_t}<extra></extra>")


_CAMERA = dict(eye=dict(x=0.0, y=-1.9, z=0.45), up=dict(x=0, y=0, z=1))
_SCENE = dict(xaxis=dict(visible=False), yaxis=dict(visible=False), zaxis=dict(visible=False), aspectmode="data",
              camera=_CAMERA, dragmode="turntable")


def activation_figure(surface: _Surface, act_true=None, act_pred=None, *, label: str = "activation time (ms)"):
    """Side-by-side (or single) activation maps on the heart with one colour scale."""
    import plotly.graph_objects as go

    maps = [(n, np.asarray(v, np.float64)) for n, v in (("true", act_true), ("predicted", act_pred)) if v is not None]
    fields = [surface.interpolate(v) for _, v in maps]
    finite = np.concatenate([f[np.isfinite(f)] for f in fields])
    cmin, cmax = float(np.floor(finite.min())), float(np.ceil(finite.max()))
    cmax = max(cmax, cmin + 1.0)  # a uniform map still gets a colour bar
    fig = go.Figure()
    both = len(maps) == 2
    # one 3-D scene (one WebGL context: half the start-up cost of two in a software renderer), the copies side
    # by side on one turntable, so they always turn together
    for ((name, v), f, dx) in zip(maps, fields, surface.offsets(len(maps))):
        fig.add_trace(surface.mesh(f.astype(np.float32), scene="scene", coloraxis="coloraxis", name=name, dx=dx,
                                   hovertemplate=f"{name}: %{{intensity:.1f}} ms<extra></extra>"))
        other = [o for o in maps if o[0] != name]
        fig.add_trace(surface.sites(v, scene="scene", name=name, unit="ms", extra=other[0][1] if other else None, dx=dx))
        if other:
            fig.data[-1].meta = other[0][0]
    fig.update_layout(scene=surface.scene([n for n, _ in maps]), height=560, margin=dict(l=0, r=0, t=30, b=10), showlegend=False,
                      coloraxis=dict(colorscale="Jet", cmin=cmin, cmax=cmax,
                                     colorbar=dict(title=dict(text=label, side="top"), orientation="h", x=0.5, xanchor="center",
                                                   y=0.02, yanchor="bottom", len=0.5, thickness=14)))
    if both:
        t, p = maps[0][1], maps[1][1]
        ok = np.isfinite(t) & np.isfinite(p)
        mae = float(np.abs(t[ok] - p[ok]).mean()) if ok.any() else float("nan")
        fig.add_annotation(text=f"MAE over the 75 sites: {mae:.2f} ms", x=0.5, y=0.96, xref="paper", yref="paper",
                           showarrow=False, font=dict(size=12, color="#444"))
    return fig


def _vm_u8(field: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Vm (mV) -> uint8 codes 0..255 over [vmin, vmax]: 4x smaller frames, steps of (vmax - vmin) / 255 (~0.5 mV)."""
    return np.clip(np.round((field - vmin) / (vmax - vmin) * 255.0), 0, 255).astype(np.uint8)


def vm_figure(surface: _Surface, vm_true=None, vm_pred=None, *, step_ms: int = 10, fs: float = 1000.0):
    """Vm over time on the heart: true and predicted side by side, slider + play button, frames every ``step_ms``.

    Mesh colours are stored as uint8 codes of Vm (the colour bar is labelled in mV); the site markers
    carry the exact Vm of each frame in their hover.
    """
    import plotly.graph_objects as go

    vms = [(n, np.asarray(v, np.float64)) for n, v in (("true", vm_true), ("predicted", vm_pred)) if v is not None]
    T = vms[0][1].shape[1]
    t_idx = np.arange(0, T, max(1, int(round(step_ms * fs / 1000.0))))
    fields = [surface.interpolate(v[:, t_idx]) for _, v in vms]  # (V, F) each
    vmin = float(np.floor(min(v.min() for _, v in vms) / 5) * 5)
    vmax = float(np.ceil(max(v.max() for _, v in vms) / 5) * 5)
    if vmax <= vmin:
        vmax = vmin + 1
    codes = [_vm_u8(f, vmin, vmax) for f in fields]
    from ..data.intracardiac import activation_times

    act0 = activation_times(vms[0][1], time_axis=-1)
    start = int(np.argmin(np.abs(t_idx - np.nanmedian(act0) * fs / 1000.0))) if np.isfinite(act0).any() else 0
    ticks = np.arange(np.ceil(vmin / 20) * 20, vmax + 1e-9, 20)
    fig = go.Figure()
    for (s, (name, v)), dx in zip(enumerate(vms), surface.offsets(len(vms))):
        fig.add_trace(surface.mesh(codes[s][:, start], scene="scene", coloraxis="coloraxis", name=f"Vm {name}", dx=dx))
        fig.add_trace(surface.sites(v[:, t_idx[start]], scene="scene", name=f"Vm {name}", unit="mV", dx=dx))
    frames, steps = [], []
    for f, t in enumerate(t_idx):
        ms = int(round(t / fs * 1000))
        data, traces = [], []
        for s, (name, v) in enumerate(vms):
            data += [go.Mesh3d(intensity=codes[s][:, f]), go.Scatter3d(customdata=v[:, t, None].astype(np.float32))]
            traces += [2 * s, 2 * s + 1]
        frames.append(go.Frame(name=f"t{ms}", data=data, traces=traces))
        steps.append(dict(method="animate", label=str(ms),
                          args=[[f"t{ms}"], dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))]))
    fig.frames = frames
    play = dict(label="▶ play", method="animate",
                args=[None, dict(frame=dict(duration=120, redraw=True), transition=dict(duration=0), fromcurrent=True, mode="immediate")])
    pause = dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")])
    fig.update_layout(
        scene=surface.scene([f"Vm {n}" for n, _ in vms], domain_y=(0.25, 0.97)), height=640, margin=dict(l=0, r=0, t=30, b=10),
        showlegend=False,
        coloraxis=dict(colorscale="Jet", cmin=0, cmax=255,
                       colorbar=dict(title=dict(text="Vm (mV)", side="top"), tickvals=list((ticks - vmin) / (vmax - vmin) * 255),
                                     ticktext=[f"{v:g}" for v in ticks], orientation="h", x=0.5, xanchor="center", y=0.2,
                                     yanchor="bottom", len=0.5, thickness=14)),
        updatemenus=[dict(type="buttons", direction="left", buttons=[play, pause], x=0.02, xanchor="left", y=0.02,
                          yanchor="bottom", pad=dict(r=10, t=10), showactive=False)],
        sliders=[dict(active=start, steps=steps, x=0.2, len=0.78, y=0.02, yanchor="bottom", pad=dict(t=10, b=5),
                      currentvalue=dict(prefix="t = ", suffix=" ms", visible=True, xanchor="left", font=dict(size=14)))],
    )
    return fig


def ecg_figure(ecg: np.ndarray, fs: float = 1000.0, leads=None, *, title: str = ""):
    """12-lead viewer on a calibrated grid: 3 x 4 panels (I, II, III / aVR, aVL, aVF / V1-V3 / V4-V6).

    Axes are in ms and mV with the paper grid: minor lines every 40 ms and 0.1 mV (1 mm at
    25 mm/s and 10 mm/mV), major lines every 200 ms and 0.5 mV (5 mm). All panels share their
    time and voltage axes, so zooming or panning one lead moves all twelve together.
    """
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    from ..data.intracardiac import LEADS
    from .plots import LEAD_GRID

    ecg = np.asarray(ecg, np.float64)
    leads = list(leads or LEADS)
    if ecg.ndim != 2 or ecg.shape[0] != len(leads):
        from ..errors import DataFormatError

        raise DataFormatError(f"ECG viewer: expected ({len(leads)}, n) mV, got shape {ecg.shape}")
    order_rows = [LEAD_GRID[r][c] for r in range(3) for c in range(4)]
    fig = make_subplots(rows=3, cols=4, shared_xaxes="all", shared_yaxes="all", horizontal_spacing=0.025,
                        vertical_spacing=0.06, subplot_titles=order_rows)
    t = np.arange(ecg.shape[1]) / fs * 1000.0
    for n, name in enumerate(order_rows):
        if name not in leads:
            continue
        r, c = divmod(n, 4)
        fig.add_trace(go.Scatter(x=t.astype(np.float32), y=ecg[leads.index(name)].astype(np.float32), mode="lines",
                                 line=dict(color="black", width=1.3), name=name,
                                 hovertemplate=f"{name}<br>%{{x:.0f}} ms<br>%{{y:.3f}} mV<extra></extra>"),
                      row=r + 1, col=c + 1)
    lo, hi = float(ecg.min()), float(ecg.max())
    lo, hi = np.floor(lo / 0.5) * 0.5 - 0.25, np.ceil(hi / 0.5) * 0.5 + 0.25
    grid = dict(showgrid=True, gridcolor="#e38b8b", gridwidth=1, zeroline=False, showline=False, ticks="",
                minor=dict(showgrid=True, gridcolor="#f7d4d4", gridwidth=0.5))
    fig.update_xaxes(**grid, dtick=200, minor_dtick=40, range=[t[0], t[-1]], tickfont=dict(size=10))
    fig.update_yaxes(**grid, dtick=0.5, minor_dtick=0.1, range=[lo, hi], tickfont=dict(size=10))
    for c in range(4):
        fig.update_xaxes(title_text="time (ms)", title_font=dict(size=11), row=3, col=c + 1)
    for r in range(3):
        fig.update_yaxes(title_text="mV", title_font=dict(size=11), row=r + 1, col=1)
    fig.update_layout(height=680, margin=dict(l=50, r=10, t=70 if title else 50, b=40), showlegend=False,
                      plot_bgcolor="#fffafa", dragmode="zoom", hovermode="closest",
                      title=dict(text=title, x=0.01) if title else None)
    return fig


def heart_sections(*, act_true=None, act_pred=None, vm_true=None, vm_pred=None, ecg=None, fs_ecg: float = 1000.0,
                   fs_vm: float = 1000.0, step_ms: int = 10, id_prefix: str = "heart", caption: str = "", geometry=None) -> list[str]:
    """The HTML sections of :func:`heart_page` (no plotly.js), for embedding in a larger page."""
    out = []
    if act_true is None and act_pred is None and (vm_true is not None or vm_pred is not None):
        from ..data.intracardiac import activation_times

        act_true = None if vm_true is None else activation_times(np.asarray(vm_true), time_axis=-1)
        act_pred = None if vm_pred is None else activation_times(np.asarray(vm_pred), time_axis=-1)
        derived = " (derived from Vm: first time each site's Vm rises above 0 mV)"
    else:
        derived = ""
    missing = []
    for name, v in (("true", act_true), ("predicted", act_pred)):
        if v is not None and not np.isfinite(np.asarray(v, np.float64)).any():
            missing.append(name)
    if "true" in missing:
        act_true = None
    if "predicted" in missing:
        act_pred = None
    if missing:
        caption += (f" No {' or '.join(missing)} activation map: no site activates"
                    + (" (Vm never rises above 0 mV)." if derived else "."))
    surface = _Surface(geometry) if any(v is not None for v in (act_true, act_pred, vm_true, vm_pred)) else None
    for name, v in (("act_true", act_true), ("act_pred", act_pred)):
        if v is not None and np.shape(v) != (len(surface.g.site_names),):
            from ..errors import DataFormatError

            raise DataFormatError(f"heart page: {name} must have one value per site (75,), got shape {np.shape(v)}")
    for name, v in (("vm_true", vm_true), ("vm_pred", vm_pred)):
        if v is not None and (np.ndim(v) != 2 or np.shape(v)[0] != len(surface.g.site_names)):
            from ..errors import DataFormatError

            raise DataFormatError(f"heart page: {name} must be (75, T) mV, got shape {np.shape(v)}")
    if act_true is not None or act_pred is not None:
        fig = activation_figure(surface, act_true, act_pred)
        what = "True vs predicted activation maps" if act_true is not None and act_pred is not None else \
            ("Predicted" if act_pred is not None else "True") + " activation map"
        out.append(_section(what + derived, _fig_html(fig, f"{id_prefix}-activation"),
                            "Values at the 75 sites (black dots; hover for name and value) interpolated over the heart's "
                            "surface with the Shepard kernel (inverse squared distance, as the static renders and "
                            "ParaView's ShepardKernel). " + ("One colour scale for both views; drag to rotate (both views "
                            "turn together), scroll to zoom." if act_true is not None and act_pred is not None else
                            "Drag to rotate, scroll to zoom.") + caption))
    if act_true is None and act_pred is None and missing:
        out.append(_section("Activation map", "", caption.strip()))
    if vm_true is not None or vm_pred is not None:
        fig = vm_figure(surface, vm_true, vm_pred, step_ms=step_ms, fs=fs_vm)
        out.append(_section("Transmembrane potential Vm over time", _fig_html(fig, f"{id_prefix}-vm"),
                            f"One frame every {step_ms} ms: press play or drag the slider"
                            + ("; true and predicted are always shown at the same instant and turn together"
                               if vm_true is not None and vm_pred is not None else "")
                            + ". Hover a site for its exact Vm at that instant. The first frame shown is the one "
                            "nearest the median activation time."))
    if ecg is not None:
        fig = ecg_figure(np.asarray(ecg), fs_ecg)
        out.append(_section("12-lead ECG", _fig_html(fig, f"{id_prefix}-ecg"),
                            "Grid as on ECG paper: small squares 40 ms x 0.1 mV, large squares 200 ms x 0.5 mV (1 mm and "
                            "5 mm at 25 mm/s, 10 mm/mV); the panels are stretched to fit the screen, not drawn to paper "
                            "scale. Drag a box to zoom (all leads follow), double-click to reset, shift-drag to pan."))
    return out


def heart_page(path: str | os.PathLike, *, act_true=None, act_pred=None, vm_true=None, vm_pred=None, ecg=None,
               title: str = "cardiacml: heart", fs_ecg: float = 1000.0, fs_vm: float = 1000.0, step_ms: int = 10,
               intro: str = "", geometry=None) -> Path:
    """Write an interactive page of the 3-D heart and the 12-lead ECG.

    Parameters
    ----------
    path : path of the ``.html`` page (written atomically).
    act_true, act_pred : ndarray, shape (75,), ms, optional
        Activation time at each site (NaN = never activates). Shown side by side with one
        colour scale when both are given. When both are absent and Vm is given, they are
        derived from Vm (first crossing of 0 mV).
    vm_true, vm_pred : ndarray, shape (75, T), mV, optional
        Transmembrane potential at each site, sampled at ``fs_vm`` (1 kHz: T = 500). Shown as
        an animation (frames every ``step_ms`` ms) with a slider and a play button.
    ecg : ndarray, shape (12, n), mV, optional
        The 12 leads (I, II, III, aVR, aVL, aVF, V1..V6) at ``fs_ecg``.
    title, intro : page title and an optional HTML paragraph under it.

    Any input may be absent: a prediction-only page has ``act_pred``/``vm_pred``/``ecg`` only.
    """
    sections = heart_sections(act_true=act_true, act_pred=act_pred, vm_true=vm_true, vm_pred=vm_pred, ecg=ecg,
                              fs_ecg=fs_ecg, fs_vm=fs_vm, step_ms=step_ms, geometry=geometry)
    if not sections:
        from ..errors import DataFormatError

        raise DataFormatError(f"heart page {path}: nothing to show (give act_*, vm_* or ecg)")
    return _write_page(path, title, sections, intro)


# --------------------------------------------------------------------------------------------- beat run page


def confusion_figure(confusion, class_names):
    """Confusion matrix heatmap: colour = fraction of the true class, cells show count and fraction."""
    import plotly.graph_objects as go

    cm = np.asarray(confusion, np.float64)
    frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    classes = [str(c) for c in class_names]
    text = [[f"{int(cm[i, j]):,}<br>{frac[i, j]:.2f}" for j in range(len(classes))] for i in range(len(classes))]
    fig = go.Figure(go.Heatmap(z=frac, x=classes, y=classes, text=text, texttemplate="%{text}", colorscale="Blues",
                               zmin=0, zmax=1, customdata=cm,
                               colorbar=dict(title=dict(text="fraction of<br>true class"), thickness=14),
                               hovertemplate="true %{y}, predicted %{x}<br>%{customdata:,} beats (%{z:.3f} of true %{y})<extra></extra>"))
    side = 110 + 70 * len(classes)
    fig.update_layout(height=side + 40, width=side + 140, margin=dict(l=70, r=20, t=30, b=60),
                      xaxis=dict(title_text="predicted class", side="bottom", constrain="domain"),
                      yaxis=dict(title_text="true class", autorange="reversed", scaleanchor="x"))
    return fig


def examples_figure(examples_X, examples_true, examples_prob, class_names, *, fs: float = 125.0, per_class: int = 3):
    """Example beats per true class (rows), each next to a bar chart of its predicted probabilities."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    X = np.asarray(examples_X, np.float32)
    if X.ndim == 3:
        X = X[:, 0]
    y = np.asarray(examples_true).astype(np.int64)
    P = np.asarray(examples_prob, np.float32)
    classes = [str(c) for c in class_names]
    picks = []
    for k in range(len(classes)):
        idx = np.flatnonzero(y == k)
        wrong = idx[P[idx].argmax(1) != k]
        chosen = list(idx[P[idx].argmax(1) == k][: per_class - min(1, len(wrong))]) + list(wrong[:1])
        picks.append(sorted(chosen, key=lambda i: int(P[i].argmax() != k))[:per_class])
    n_ex = max(1, max(len(p) for p in picks))
    titles = []
    for k, p in enumerate(picks):
        for e in range(n_ex):
            if e < len(p):
                i = p[e]
                pk = int(P[i].argmax())
                titles += [f"true {classes[k]} → <b>{classes[pk]}</b> ({P[i, pk]:.2f})", ""]
            else:
                titles += ["" if e else f"true {classes[k]}: no example", ""]
    fig = make_subplots(rows=len(classes), cols=2 * n_ex, column_widths=[0.75, 0.25] * n_ex, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.45 / max(len(classes), 1))
    t = np.arange(X.shape[-1]) / fs * 1000.0
    for k, p in enumerate(picks):
        for e, i in enumerate(p):
            pk = int(P[i].argmax())
            colour = "#2b7a2b" if pk == k else "#c0392b"
            prob_txt = "<br>".join(f"p({c}) = {P[i, j]:.3f}" for j, c in enumerate(classes))
            fig.add_trace(go.Scatter(x=t, y=X[i], mode="lines", line=dict(color=colour, width=1.4), showlegend=False,
                                     hovertemplate=f"%{{x:.0f}} ms, %{{y:.3f}}<br>{prob_txt}<extra></extra>"),
                          row=k + 1, col=2 * e + 1)
            fig.add_trace(go.Bar(y=classes, x=P[i], orientation="h", showlegend=False,
                                 marker_color=[_colour(j) if j == pk else "#c8c8c8" for j in range(len(classes))],
                                 hovertemplate="p(%{y}) = %{x:.3f}<extra></extra>"), row=k + 1, col=2 * e + 2)
            fig.update_xaxes(range=[0, 1], showticklabels=False, row=k + 1, col=2 * e + 2)
            fig.update_yaxes(autorange="reversed", tickfont=dict(size=9), row=k + 1, col=2 * e + 2)
            fig.update_xaxes(showticklabels=k == len(classes) - 1, row=k + 1, col=2 * e + 1,
                             title_text="ms" if k == len(classes) - 1 else None, title_standoff=2)
            fig.update_yaxes(showticklabels=False, row=k + 1, col=2 * e + 1)
    for k in range(len(classes)):
        for e in range(n_ex):
            if e >= len(picks[k]):
                fig.update_xaxes(visible=False, row=k + 1, col=2 * e + 1)
                fig.update_yaxes(visible=False, row=k + 1, col=2 * e + 1)
                fig.update_xaxes(visible=False, row=k + 1, col=2 * e + 2)
                fig.update_yaxes(visible=False, row=k + 1, col=2 * e + 2)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=150 * len(classes) + 80, margin=dict(l=20, r=20, t=40, b=40), template="plotly_white")
    return fig


def beat_run_sections(*, confusion, class_names, examples_X=None, examples_true=None, examples_prob=None,
                      metrics: dict | None = None, id_prefix: str = "beats") -> list[str]:
    """The HTML sections of :func:`beat_run_page` (no plotly.js)."""
    out = []
    classes = [str(c) for c in class_names]
    if metrics:
        rows = [[k, v] for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        body = _table(rows, ["metric", "value"]) if rows else ""
        per = metrics.get("per_class")
        if isinstance(per, dict):
            body += _table([[c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")] for c, v in per.items()],
                           ["class", "precision", "recall", "F1", "support"])
        out.append(_section("Metrics", body))
    out.append(_section("Confusion matrix", _fig_html(confusion_figure(confusion, classes), f"{id_prefix}-confusion"),
                        "Rows: true class, columns: predicted class. Each cell: number of beats and fraction of its row "
                        "(the recall of the class on the diagonal)."))
    if examples_X is not None and len(examples_X):
        out.append(_section("Example beats per class",
                            _fig_html(examples_figure(examples_X, examples_true, examples_prob, classes), f"{id_prefix}-examples"),
                            "Each row: beats of one true class (green: classified correctly, red: misclassified, at most "
                            "one shown per class), with the model's probabilities (bars; the predicted class in colour). "
                            "Hover for exact values."))
    return out


def beat_run_page(path: str | os.PathLike, *, confusion, class_names, examples_X=None, examples_true=None,
                  examples_prob=None, metrics: dict | None = None, title: str = "cardiacml: beat classification") -> Path:
    """Write an interactive page of a beat-classification run.

    Parameters
    ----------
    confusion : array, shape (C, C), int
        Confusion matrix, rows = true class, columns = predicted class.
    class_names : sequence of str, length C
    examples_X : ndarray, shape (k, 1, 187) or (k, 187), optional
        Example beats (125 Hz).
    examples_true : ndarray, shape (k,), int
    examples_prob : ndarray, shape (k, C)
        Predicted probabilities of the examples.
    metrics : dict, optional
        Scalar metrics (accuracy, macro_f1, n...) and ``per_class`` {class: {precision, recall, f1, support}}.
    """
    return _write_page(path, title, beat_run_sections(confusion=confusion, class_names=class_names, examples_X=examples_X,
                                                      examples_true=examples_true, examples_prob=examples_prob, metrics=metrics))


# --------------------------------------------------------------------------------------------- run folders


def save_examples(run_dir: str | os.PathLike, X: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, k: int = 24,
                  name: str = "examples.npz") -> Path:
    """Keep ``k`` test examples of a run for the interactive report: ``RUN/examples.npz`` (written atomically).

    Arrays: ``X`` (k, leads, T) float32; ``y_true``: labels (k,) int for classification,
    activation times (k, 75) ms (Task 3) or Vm (k, 75, T) mV (Task 4); ``y_pred``: class
    probabilities (k, C), or arrays shaped like ``y_true``; ``index``: the examples' rows in the
    test set. Classification keeps examples of every class present (one misclassified beat per
    class where there is one); regression keeps the first ``k`` (Task 4: at most 8, 150 kB each).
    """
    X = np.asarray(X)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(X)
    if y_pred.ndim == 2 and y_true.ndim == 1:  # classification
        yt = y_true.astype(np.int64)
        classes = np.unique(yt)
        per = max(1, k // max(len(classes), 1))
        idx = []
        for c in classes:
            rows = np.flatnonzero(yt == c)
            wrong = rows[y_pred[rows].argmax(1) != c][:1]
            right = rows[y_pred[rows].argmax(1) == c][: per - len(wrong)]
            idx += list(right) + list(wrong)
        idx = np.array(sorted(idx), np.int64)
        y_t = yt[idx]
    else:
        k = min(k, 8) if y_true.ndim == 3 else k
        idx = np.arange(min(k, n))
        y_t = y_true[idx].astype(np.float32)
    path = Path(run_dir) / name
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, X=X[idx].astype(np.float32), y_true=y_t, y_pred=y_pred[idx].astype(np.float32), index=idx)
    return path


def load_examples(run_dir: str | os.PathLike, name: str = "examples.npz") -> dict | None:
    """``RUN/examples.npz`` as a dict of arrays, or None when the run has none (older runs)."""
    path = Path(run_dir) / name
    if not path.is_file():
        return None
    from ..errors import DataFormatError

    try:
        with np.load(path, allow_pickle=False) as z:
            d = {key: z[key] for key in z.files}
    except Exception as exc:
        raise DataFormatError(f"{path}: unreadable examples file ({exc})") from exc
    for key in ("X", "y_true", "y_pred"):
        if key not in d:
            raise DataFormatError(f"{path}: missing array {key!r} (has {sorted(d)})")
    if len(d["X"]) == 0:
        return None
    return d


def report_sections(run_dir: str | os.PathLike, kind: str, metrics: dict) -> list[str]:
    """Interactive sections of a run's report from ``RUN/examples.npz`` (empty list when it is absent).

    ``kind`` is the run's kind ("classification", "regression" = Task 3, else Task 4); ``metrics``
    the test metrics (``confusion_matrix`` and ``classes`` for classification).
    """
    ex = load_examples(run_dir)
    if ex is None:  # runs made before examples.npz existed: the static report only
        return []
    if kind == "classification":
        if "confusion_matrix" not in metrics:
            return []
        return beat_run_sections(confusion=metrics["confusion_matrix"], class_names=metrics["classes"],
                                 examples_X=ex["X"], examples_true=ex["y_true"], examples_prob=ex["y_pred"])  # (metrics: in the report)
    X, yt, yp = ex["X"], ex["y_true"], ex["y_pred"]
    if kind == "regression":
        err = np.nanmean(np.abs(yt - yp), axis=1)
        i = int(np.argsort(err)[len(err) // 2])
        cap = (f" Test heart #{int(ex.get('index', np.arange(len(X)))[i])}: the median-error one of the {len(X)} "
               f"examples kept (MAE {err[i]:.2f} ms).")
        return heart_sections(act_true=yt[i], act_pred=yp[i], ecg=X[i], caption=cap)
    err = np.sqrt(np.mean((yt - yp) ** 2, axis=(1, 2)))
    i = int(np.argsort(err)[len(err) // 2])
    cap = (f" Test heart #{int(ex.get('index', np.arange(len(X)))[i])}: the median-error one of the {len(X)} examples "
           f"kept (Vm RMSE {err[i]:.2f} mV).")
    return heart_sections(vm_true=yt[i], vm_pred=yp[i], ecg=X[i], caption=cap)


# --------------------------------------------------------------------------------------------- `cardiacml predict --html`


def read_record_signal(record, lead: str | int | None = None, **options) -> tuple[np.ndarray, float, str]:
    """The raw lead of a recording in any supported format as ``(signal mV (n,), fs Hz, lead name)``.

    Read through :func:`cardiacml.data.records.open_record` (``options``: ``fs``, ``units``... for
    formats that need them) and the same lead choice as prediction: ``lead`` if given, else MLII,
    else II, else the first channel.
    """
    from ..data.records import open_record

    rec = open_record(record, **options)
    li = rec.lead_index(lead)
    return rec.read(lead=li), float(rec.fs), str(rec.leads[li])


def record_page_from_file(record, path, *, beat_times_s, probabilities, class_names, lead: str | int | None = None,
                          reference=None, title: str | None = None, **options) -> Path:
    """:func:`record_page` for a recording file (the raw lead is read here): ``cardiacml predict REC --html PAGE``.

    ``beat_times_s`` (m,) s, ``probabilities`` (m, C) and ``reference`` (m,) int or None are
    what ``read_beats`` / the model give (``beats["r_peak_s"]``, ``prob``, ``beats.get("label")``).
    """
    sig, fs, name = read_record_signal(record, lead, **options)
    prob = np.asarray(probabilities, np.float32)
    return record_page(sig, fs, beat_times_s, prob.argmax(1), prob, class_names, path,
                       title=title or f"cardiacml: {Path(record).name}", lead_name=name, reference=reference)


record_page_from_wfdb = record_page_from_file  # the first name of this function


def prediction_heart_page(path, ecg: np.ndarray, pred: np.ndarray, *, index: int = 0, title: str | None = None) -> Path:
    """:func:`heart_page` for ``cardiacml predict`` on 12-lead ECGs.

    ``ecg`` (n, 12, 500) mV as read by ``read_ecg12``; ``pred`` (n, 75) activation times (Task 3)
    or (n, 75, 500) Vm (Task 4; the activation map is derived from it). Shows ECG ``index``.
    """
    ecg, pred = np.asarray(ecg), np.asarray(pred)
    if not 0 <= index < len(pred):
        from ..errors import DataFormatError

        raise DataFormatError(f"heart page {path}: ECG index {index} out of range (0..{len(pred) - 1})")
    note = f"<p class='note'>Prediction for ECG #{index} of {len(pred)}.</p>" if len(pred) > 1 else ""
    if pred.ndim == 2:
        return heart_page(path, act_pred=pred[index], ecg=ecg[index], title=title or "cardiacml: predicted activation map",
                          intro=note)
    return heart_page(path, vm_pred=pred[index], ecg=ecg[index], title=title or "cardiacml: predicted Vm", intro=note)
