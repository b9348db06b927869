"""Interactive page of a whole recording: every beat marked and coloured by its predicted class.

:func:`record_page` draws a raw recording (up to 24 h) as a zoomable strip with a level-of-detail
trace (min/max buckets that fit the page budget; the browser draws the finest level for the window
shown), hover with probabilities, a per-class summary table.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import numpy as np

from .page import CLASS_COLOURS, PAGE_BUDGET, b64, colour, fig_html, json_script, section, table, write_page  # noqa: F401

_EPOCH_MS = 946_684_800_000.0  # 2000-01-01T00:00:00Z in ms



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
    return _deflate(np.diff(v.astype(np.int32), prepend=0).astype("<i2"))  # wraps mod 2**16; Int16Array wraps back


def _deflate(a: np.ndarray) -> str:
    """An array's bytes (C order, its own little-endian dtype) zlib-deflated, in base64: what the page's ``inflate``
    turns back into an ArrayBuffer."""
    import zlib

    return base64.b64encode(zlib.compress(np.ascontiguousarray(a).tobytes(), 6)).decode()


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
  function inflate(b64){   // base64 of deflated bytes -> ArrayBuffer (the encoder: _deflate)
    var bin = atob(b64), u8 = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    var stream = new Blob([u8]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).arrayBuffer();
  }
  function unpack(b64){
    return inflate(b64).then(function(buf){
      var v = new Int16Array(buf);
      for (var i = 1; i < v.length; i++) v[i] = v[i - 1] + v[i];   // undo the deltas (mod 2**16, like the encoder)
      return v;
    });
  }
  function markers(B, dt, yq, cls, pct, ref){   // the beat markers' traces from their packed points (_beat_markers)
    var n = B.n, C = B.classes.length, t = 0, tr = [], bad = {x: [], y: []};
    for (var k = 0; k < C; k++) tr.push({x: [], y: [], customdata: [], text: []});
    for (var i = 0; i < n; i++) {
      t += dt[i];
      var c = cls[i], x = t + base, y = yq[i] * spec.scale + spec.offset + B.y_pad;
      if (ref && ref[i] >= 0 && ref[i] !== c) { bad.x.push(x); bad.y.push(y); }
      if (c < 0 || c >= C) continue;
      var p = new Array(C);
      for (var j = 0; j < C; j++) p[j] = pct[j * n + i];
      tr[c].x.push(x); tr[c].y.push(y); tr[c].customdata.push(p);
      if (ref) tr[c].text.push(ref[i] >= 0 ? B.classes[ref[i]] : '?');
    }
    for (var k = 0; k < C; k++) {
      var d = gd.data[B.first + k];
      d.x = tr[k].x; d.y = tr[k].y; d.customdata = tr[k].customdata;
      if (ref) d.text = tr[k].text;
    }
    if (B.mismatch >= 0) { gd.data[B.mismatch].x = bad.x; gd.data[B.mismatch].y = bad.y; }
  }
  function toMs(v){
    if (typeof v === 'number') return v;
    var m = /^(-?\d+)-(\d+)-(\d+)(?:[ T](\d+):(\d+)(?::(\d+(?:\.\d*)?))?)?/.exec(String(v));
    if (!m) return NaN;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) + 1000 * (+(m[6] || 0));
  }
  var levels = null, snip = null, busy = false, again = false;
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
    var x = [], y = [], fine = 0;
    function level(a, b, inA, inB){   // L's values for samples [a, b); inA / inB: no bucket reaching past a / b
      var j0 = (inA ? Math.ceil(a / L.bucket) : Math.floor(a / L.bucket)) * per;
      var j1 = Math.min(L.v.length, (inB ? Math.floor(b / L.bucket) : Math.ceil(b / L.bucket)) * per);
      for (var j = j0; j < j1; j++) { x.push((j * step + off) / spec.fs * 1000 + base); y.push(L.v[j] * spec.scale + spec.offset); }
    }
    if (L.bucket > 1 && snip && s1 - s0 <= spec.max_points) {
      // zoomed in on a long recording: every sample around the flagged beats, min/max buckets between them
      var k = 0, cur = s0;
      while (k < snip.starts.length && snip.starts[k] + snip.lengths[k] <= s0) k++;
      for (; k < snip.starts.length && snip.starts[k] < s1; k++) {
        var a = Math.max(snip.starts[k], s0), b = Math.min(snip.starts[k] + snip.lengths[k], s1);
        level(cur, a, cur > s0, true);
        for (var s = a; s < b; s++) { x.push(s / spec.fs * 1000 + base); y.push(snip.v[snip.at[k] + s - snip.starts[k]] * spec.scale + spec.offset); }
        fine += b - a; cur = b;
      }
      level(cur, s1, cur > s0, false);
    } else {
      level(s0, s1, false, false);
    }
    busy = true;
    gd.dataset.lodBucket = L.bucket;
    gd.dataset.lodFine = fine;
    var tr = gd.data[spec.trace];
    tr.x = x; tr.y = y;
    tr.name = L.bucket == 1 ? spec.lead : spec.lead + (fine ? ' (every sample around the flagged beats, min/max of ' + L.bucket + ' samples elsewhere)' : ' (min/max of ' + L.bucket + ' samples)');
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
  var packed = spec.levels.map(function(L){ return unpack(L.data); });
  if (spec.snippets) packed.push(unpack(spec.snippets.data));
  var B = spec.beats, nb = packed.length;
  if (B && B.n) packed.push(inflate(B.t), unpack(B.y), inflate(B.cls), inflate(B.pct), B.ref ? inflate(B.ref) : null);
  Promise.all(packed).then(function(vs){
    if (B && B.n) markers(B, B.t_bytes === 8 ? new Float64Array(vs[nb]) : new Int32Array(vs[nb]), vs[nb + 1],
                          new Int16Array(vs[nb + 2]), new Uint8Array(vs[nb + 3]), vs[nb + 4] ? new Int16Array(vs[nb + 4]) : null);
    vs = vs.slice(0, nb);
    levels = spec.levels.map(function(L, k){ return {bucket: L.bucket, v: vs[k]}; });
    if (spec.snippets) {
      var at = [], t = 0;
      for (var i = 0; i < spec.snippets.starts.length; i++) { at.push(t); t += spec.snippets.lengths[i]; }
      snip = {starts: spec.snippets.starts, lengths: spec.snippets.lengths, at: at, v: vs[vs.length - 1]};
    }
    update();
  });
})();
"""


def record_figure(signal: np.ndarray, fs: float, beat_times_s: np.ndarray, predicted: np.ndarray,
                  probabilities: np.ndarray, class_names, *, lead_name: str = "ECG", reference=None,
                  detail_budget_bytes: float | None = None, view_points: int = 40_000, initial_window_s: float = 20.0,
                  overview_points: int = 8_000, episodes=(), bridges=(), low_quality_stretches=()):
    """The strip figure of :func:`record_page` and the level-of-detail data its script needs.

    ``episodes`` / ``bridges``: see :func:`record_page`; ``low_quality_stretches``: ``[[start_s, end_s], ...]`` drawn
    as grey bands.

    Returns ``(fig, lod_spec, post_script)``: the beat markers' traces are empty in ``fig``, their points packed in
    ``lod_spec["beats"]`` (:func:`_beat_markers`) for ``post_script`` to fill. ``detail_budget_bytes``: room for the packed trace
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
        from ...errors import DataFormatError

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
                             line=dict(color="black", width=1), name=html.escape(str(lead_name)), hoverinfo="skip", xaxis="x", yaxis="y"))
    # trace 1: the whole recording, min/max overview in its own strip below (click it to jump there).
    # Not plotly's rangeslider: that mirrors trace 0, which holds only the window.
    fig.add_trace(go.Scatter(x=t_ms(np.arange(len(ov)) * (ob / 2) + (ob / 4 if ob > 1 else 0)), y=ov.astype(np.float32),
                             mode="lines", line=dict(color="#888", width=0.6), name="whole recording", hoverinfo="none",
                             showlegend=False, xaxis="x2", yaxis="y2"))
    on = np.isfinite(times)  # a beat without a time is drawn nowhere (plotly drew a NaN x nowhere); counted below
    ridx = np.clip(np.round(np.where(on, times, 0.0) * fs).astype(np.int64), 0, n - 1)
    # int16 quantisation of the trace on the signal's own grid (5 uV for MIT-BIH) or 1 uV when the range allows
    offset = float(np.median(sig))
    amp = float(np.max(np.abs(sig - offset)))
    quantum = _quantum(sig)
    scale = max(quantum or 1e-3, amp / 32000.0)
    if quantum:
        offset = round(offset / quantum) * quantum
    q = np.round((sig - offset) / scale).astype(np.int16)
    # %H is the hour of the day: from 24 h on, the day into the record (day 1 = the first 24 h) is shown too: the day
    # of the year (%-j) of the axis's 2000-01-01 start, which counts on past a month (%-d, the day of the month, showed
    # day 35 as "day 4"); it would wrap after 366 days
    day = "" if n / fs < 86_400 else "day %-j, "
    prob_lines = "<br>".join(f"p({html.escape(c)}) = %{{customdata[{j}]}} %" for j, c in enumerate(classes))
    # the beat markers' points travel packed in the spec (:func:`_beat_markers`); the page's script fills these traces
    first = len(fig.data)
    for k, c in enumerate(classes):
        ref_line = "" if ref is None else "<br>reference: %{text}"
        fig.add_trace(go.Scattergl(
            x=[], y=[], mode="markers", name=f"{c} ({int((pred == k).sum()):,})",
            marker=dict(color=colour(k), size=8 if k else 6, symbol="triangle-down", line=dict(width=0)),
            hovertemplate=f"<b>%{{x|{day}%H:%M:%S.%L}}</b><br>predicted: <b>{html.escape(c)}</b><br>{prob_lines}{ref_line}<extra></extra>"))
    mismatch = -1
    if ref is not None:
        known = (ref >= 0) & (ref < len(classes))
        mismatch = len(fig.data)
        fig.add_trace(go.Scattergl(x=[], y=[], mode="markers",
                                   name=f"prediction ≠ reference ({int((known & (ref != pred)).sum()):,})", hoverinfo="skip",
                                   marker=dict(size=15, color="rgba(0,0,0,0)", line=dict(color="black", width=1.5))))
    beats = _beat_markers(times[on], q[ridx][on], pred[on], prob[on], None if ref is None else ref[on], classes, first,
                          mismatch, pad * 0.35)
    total_ms = n / fs * 1000.0
    buttons = [dict(count=5, label="5 s", step="second", stepmode="backward"),
               dict(count=20, label="20 s", step="second", stepmode="backward"),
               dict(count=2, label="2 min", step="minute", stepmode="backward"),
               dict(count=30, label="30 min", step="minute", stepmode="backward"), dict(step="all", label="all")]
    stops = [dict(dtickrange=[None, 1000], value=f"{day}%H:%M:%S.%L"), dict(dtickrange=[1000, None], value=f"{day}%H:%M:%S")]
    fig.update_layout(
        height=560, margin=dict(l=60, r=20, t=80, b=30), template="plotly_white", dragmode="pan", hovermode="closest",
        legend=dict(orientation="h", y=1.01, yanchor="bottom", x=1, xanchor="right", title_text="predicted class:"),
        xaxis=dict(type="date", range=[_EPOCH_MS, float(t_ms(w0))], tickformatstops=stops, anchor="y",
                   rangeselector=dict(buttons=buttons, x=0, y=1.02, yanchor="bottom")),
        yaxis=dict(title_text=f"{html.escape(str(lead_name))} (mV)", range=[lo - pad, hi + pad], domain=[0.25, 1.0], showgrid=True,
                   gridcolor="#f0c8c8", zeroline=False),
        xaxis2=dict(type="date", range=[_EPOCH_MS, _EPOCH_MS + total_ms], fixedrange=True, anchor="y2", tickformatstops=stops,
                    title=dict(text=f"whole recording ({'day, ' if day else ''}hh:mm:ss): click to jump; the blue band is the view", font=dict(size=11))),
        yaxis2=dict(domain=[0.0, 0.14], fixedrange=True, showticklabels=False, showgrid=False, zeroline=False),
        shapes=[dict(type="rect", xref="x2", yref="y2 domain", x0=_EPOCH_MS, x1=float(t_ms(w0)), y0=0, y1=1,
                     fillcolor="rgba(31,119,180,0.25)", line=dict(color="rgba(31,119,180,0.9)", width=1))]
        + _episode_bands(episodes) + _episode_bands(bridges, BRIDGE_FILL, "break between AF episodes")
        + _episode_bands(_spans(low_quality_stretches), LOW_QUALITY_FILL, "low signal quality"),
    )
    if detail_budget_bytes is None:
        from plotly.offline import get_plotlyjs

        fixed = len(get_plotlyjs()) + len(fig.to_json()) + sum(len(v) for v in beats.values() if isinstance(v, str)) + 60_000
        detail_budget_bytes = max(200_000, 0.97 * PAGE_BUDGET - fixed)
    snippets = None
    if n * _PACKED_BYTES_PER_SAMPLE > 0.85 * detail_budget_bytes:  # every sample will not fit: keep them where it matters
        n_cls = classes.index("N") if "N" in classes else 0
        flagged = (pred != n_cls) | (np.zeros(len(pred), bool) if ref is None else (ref >= 0) & (ref != pred))
        snippets = _snippets(q, ridx[flagged], fs, SNIPPET_SHARE * detail_budget_bytes)
        if snippets is not None:
            detail_budget_bytes -= len(snippets["data"])
    levels = _levels(q, detail_budget_bytes)
    spec = {"fs": fs, "n": n, "base": _EPOCH_MS, "scale": scale, "offset": offset, "max_points": view_points, "lead": lead_name,
            "trace": 0, "overview": 1, "levels": [{"bucket": b, "data": v} for b, v in levels], "beats": beats}
    if snippets is not None and levels[0][0] > 1:
        spec["snippets"] = snippets
    return fig, spec, _LOD_JS


#: Packed bytes per sample of an ECG at full resolution (deflated int16 deltas in base64; MIT-BIH ~0.55): the page's
#: first guess of whether every sample fits, before packing.
_PACKED_BYTES_PER_SAMPLE = 0.5
#: Share of the trace's budget given to full-resolution snippets around the flagged beats when every sample does not fit.
SNIPPET_SHARE = 0.25
#: Each snippet spans this long (s) before and after its beat's R peak: the P wave before, the T wave after.
SNIPPET_HALF_S = 1.0


def _snippets(q: np.ndarray, peaks: np.ndarray, fs: float, budget_bytes: float) -> dict | None:
    """Every sample of ``q`` within :data:`SNIPPET_HALF_S` of the R peaks ``peaks`` (samples; the beats not called N
    or not as the reference says), overlapping spans merged, packed as one stream: ``{"data", "starts",
    "lengths"}``, or None without such beats. When they do not fit ``budget_bytes``, every k-th beat's, spread over
    the recording (the page says how many it kept)."""
    peaks = np.unique(np.asarray(peaks, np.int64))
    if not len(peaks):
        return None
    h = int(round(SNIPPET_HALF_S * fs))

    def pack(stride):
        take = peaks[::stride]
        a, b = np.clip(take - h, 0, len(q)), np.clip(take + h + 1, 0, len(q))
        first = np.flatnonzero(np.r_[True, a[1:] > b[:-1]])  # overlapping spans merged (the beats are sorted)
        starts, ends = a[first], np.maximum.reduceat(b, first)
        return {"data": _pack(np.concatenate([q[x:y] for x, y in zip(starts, ends)])), "starts": starts.tolist(),
                "lengths": (ends - starts).tolist(), "beats": int(len(take)), "flagged": int(len(peaks))}

    best = pack(1)
    if len(best["data"]) <= budget_bytes:
        return best
    lo, hi = 1, len(peaks)  # lo: too big; hi: one beat's snippet, assumed to fit
    best = pack(hi)
    if len(best["data"]) > budget_bytes:
        return None
    while hi - lo > max(1, hi // 20):  # the smallest stride that fits, to 5 %
        mid = (lo + hi) // 2
        cand = pack(mid)
        if len(cand["data"]) <= budget_bytes:
            hi, best = mid, cand
        else:
            lo = mid
    return best


def _beat_markers(times: np.ndarray, y_q: np.ndarray, pred: np.ndarray, prob: np.ndarray, ref: np.ndarray | None,
                  classes: list, first: int, mismatch: int, y_pad: float) -> dict:
    """The beat markers' points, packed for the page's script (which fills the traces ``first`` .. ``first + C - 1``,
    one per class, and the ``mismatch`` trace, -1: none): a 24-h Holter's 100k+ markers as plotly JSON took ~28 bytes
    each (4 MB of the 10 MB page, the trace left at min/max of 1.6 s); deflated they take 1-7.

    ``t``: the beats' times in whole ms (as the hover shows them), as int32 differences (float64, ``t_bytes`` 8, where
    one is 2**31 ms, 24.9 days, or more: a first beat or a jump that far); ``y``: the trace's int16 value
    at each R peak (:func:`_pack`), drawn ``y_pad`` mV above it; ``cls``: the predicted class (int16; -1: none of
    ``classes``, not drawn); ``pct``: the probabilities in whole % (uint8, class by class: ``pct[j * n + i]``);
    ``ref``: the reference class (int16, -1: unknown) or None."""
    n, n_cls = len(times), len(classes)
    ms = np.round(np.asarray(times, np.float64) * 1000.0).astype(np.int64)
    pct = np.clip(np.round(np.nan_to_num(np.asarray(prob, np.float64)) * 100), 0, 100).astype(np.uint8)
    cls = np.where((pred >= 0) & (pred < n_cls), pred, -1).astype("<i2")
    dt = np.diff(ms, prepend=0)
    wide = bool(len(dt)) and int(np.abs(dt).max()) >= 2 ** 31  # int32 wrapped: markers drawn days away
    out = {"n": int(n), "classes": classes, "first": int(first), "mismatch": int(mismatch), "y_pad": float(y_pad),
           "t_bytes": 8 if wide else 4, "t": _deflate(dt.astype("<f8" if wide else "<i4")), "y": _pack(y_q),
           "cls": _deflate(cls),
           "pct": _deflate(pct.T), "ref": None}
    if ref is not None:
        out["ref"] = _deflate(np.where((ref >= 0) & (ref < n_cls), ref, -1).astype("<i2"))
    return out


#: Fill of the rhythm-episode bands, and of the lighter bands of the breaks between two episodes whose beats are
#: classified in the AF context too (``cardiacml.inference.beats.CONTEXT_BRIDGE_S``).
EPISODE_FILL, BRIDGE_FILL = "rgba(255,140,0,0.16)", "rgba(255,140,0,0.06)"
#: Fill of the stretches the signal-quality check rejects (:mod:`cardiacml.ecg.quality`).
LOW_QUALITY_FILL = "rgba(110,110,110,0.22)"
#: At most this many grey bands (2 plotly shapes each, redrawn at every pan and zoom): beyond it, the stretches are
#: joined across the shortest gaps first (a 24-hour Holter with scattered artefact).
MAX_LOW_QUALITY_BANDS = 300


def _spans(stretches) -> list[dict]:
    """``[start_s, end_s]`` pairs (the summary's ``quality.low_quality_stretches_s``) as ``{"start_s", "end_s"}``."""
    return [{"start_s": float(a), "end_s": float(b)} for a, b in (stretches or ())]


def _episode_bands(episodes, fill: str = EPISODE_FILL, label: str | None = None) -> list[dict]:
    """Rhythm episodes (AF / flutter) as orange bands behind the strip and on the overview (layer below the traces);
    with ``fill`` / ``label``: other spans (the bridged breaks) alike."""
    bands = []
    for e in episodes or ():
        x0, x1 = float(e["start_s"]) * 1000.0 + _EPOCH_MS, float(e["end_s"]) * 1000.0 + _EPOCH_MS
        for xref, yref in (("x", "y domain"), ("x2", "y2 domain")):
            bands.append(dict(type="rect", xref=xref, yref=yref, x0=x0, x1=x1, y0=0, y1=1, layer="below",
                              fillcolor=fill, line=dict(width=0),
                              name=f"{label or e.get('rhythm', 'AF')} {e['start_s']:.0f}-{e['end_s']:.0f} s"))
    return bands


def _record_summary(times, pred, prob, classes, duration_s, ref) -> str:
    from ...ecg.rhythm import monitored_seconds

    rate_s, no_beats_s = monitored_seconds(times, duration_s)  # as the summary's per_hour: lead-off stretches left out
    hours = max(rate_s / 3600.0, 1e-9)
    rows = []
    for k, c in enumerate(classes):
        m = pred == k
        row = [c, int(m.sum()), 100.0 * m.mean() if len(m) else float("nan"), m.sum() / hours,
               float(prob[m, k].mean()) if m.any() else float("nan")]
        if ref is not None:
            r = ref == k
            row += [int(r.sum()), float((pred[r] == k).mean()) if r.any() else float("nan")]
        rows.append(row)
    header = ["predicted class", "beats", "% of beats",
              f"per hour (of the {_hms(rate_s)} with beats)" if no_beats_s else "per hour",
              "mean probability of the predicted class"]
    if ref is not None:
        header += ["reference beats", "recall vs reference (all: agreement)"]
    rows.append(["all", len(pred), 100.0 if len(pred) else float("nan"), len(pred) / hours, float(prob.max(1).mean()) if len(pred) else float("nan")]
                + ([int(((ref >= 0) & (ref < len(classes))).sum()),
                    float((pred == ref)[(ref >= 0) & (ref < len(classes))].mean()) if len(ref) else float("nan")]
                   if ref is not None else []))
    return table(rows, header)


def record_page(signal: np.ndarray, fs: float, beat_times_s: np.ndarray, predicted: np.ndarray,
                probabilities: np.ndarray, class_names, path: str | os.PathLike, *, title: str = "cardiacml: recording",
                lead_name: str = "ECG", reference=None, episodes=(), bridges=(), low_quality=None,
                low_quality_stretches=(), quality_warning: str | None = None) -> Path:
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
    episodes : sequence of dict, optional
        Rhythm episodes (``start_s``, ``end_s``, ``rhythm``; e.g. the summary's ``rhythm_episodes``), drawn as
        orange bands on the strip and the overview, and listed under the summary.
    bridges : sequence of dict, optional
        Breaks between two episodes whose beats were classified in the AF context too (``start_s``, ``end_s``; the
        summary's ``rhythm.context_bridges``): lighter bands, listed with the episodes.
    low_quality : ndarray of bool, shape (m,), optional
        Beats in a 10-s window the signal-quality check rejects (:attr:`cardiacml.inference.beats.RecordPrediction.
        low_quality`): counted per predicted class under the summary.
    low_quality_stretches : sequence of [start_s, end_s], optional
        The rejected windows, merged where they touch (:attr:`cardiacml.inference.beats.RecordPrediction.
        low_quality_stretches_s`, from :func:`cardiacml.ecg.quality.record_quality`): grey bands (at most
        :data:`MAX_LOW_QUALITY_BANDS`, joined across the shortest gaps beyond that).
    quality_warning : str, optional
        The summary's ``quality.warning`` (no window of the recording looks like an ECG: nothing was classified):
        shown under the summary.

    Notes
    -----
    The trace is kept in the page as int16 (on the signal's own ADC grid when it has one, else
    1 uV steps), delta-coded and deflated (the browser inflates it with its built-in
    ``DecompressionStream``). Every sample is kept when that fits the 10 MB page (MIT-BIH's
    30-min records use ~1 MB); longer recordings keep min/max pairs of the smallest bucket that
    fits, so R waves never vanish; the page says which bucket it kept. Then a quarter of the
    trace's room (:data:`SNIPPET_SHARE`) first keeps every sample within :data:`SNIPPET_HALF_S` of
    the beats not called N (or not as the reference says), of every k-th of them when all do not
    fit, and a view under 55 s draws those samples whole (P and T waves of the beats a user checks)
    with the min/max buckets between them (0.4.16: a 24-h Holter of 360 Hz with 100k beat markers
    kept min/max of about 130 samples, 0.37 s, and no waveform at any zoom). The beat markers
    travel packed too (:func:`_beat_markers`, 1-7 bytes a beat; as plotly JSON they took ~28, and
    the trace of a 24-h Holter of 100k+ beats kept min/max of 67-573 samples instead of 28-54).
    For the visible window the browser draws the finest level with at most 40,000 points; an
    overview strip below always shows the whole recording.

    Returns
    -------
    Path of the page.
    """
    sig = np.asarray(signal, np.float64).ravel()
    if sig.size == 0 or not np.isfinite(sig).all():
        from ...errors import DataFormatError

        raise DataFormatError(f"record page {path}: the signal is empty or has NaN/infinite values")
    times = np.asarray(beat_times_s, np.float64).ravel()
    low = None if low_quality is None else np.asarray(low_quality, bool).ravel()
    if low is not None and len(low) != len(times):
        raise ValueError(f"low_quality has {len(low)} values for {len(times)} beats")
    merged = _merge_stretches(() if low_quality_stretches is None else low_quality_stretches)
    stretches, joined_s = _cap_stretches(merged, MAX_LOW_QUALITY_BANDS)
    fig, spec, js = record_figure(sig, fs, beat_times_s, predicted, probabilities, class_names, lead_name=lead_name,
                                  reference=reference, episodes=episodes, bridges=bridges,
                                  low_quality_stretches=stretches)
    pred = np.asarray(predicted).astype(np.int64).ravel()
    prob = np.asarray(probabilities, np.float32)
    ref = None if reference is None else np.asarray(reference).astype(np.int64).ravel()
    classes = [str(c) for c in class_names]
    dur = len(sig) / float(fs)
    div = "record-strip"
    lod = json_script(spec, f"{div}-lod")
    detail = ("every sample" if spec["levels"][0]["bucket"] == 1 else
              f"min/max of every {spec['levels'][0]['bucket']} samples at most ({spec['levels'][0]['bucket'] / fs * 1000:.0f} ms)")
    sn = spec.get("snippets")
    if sn:
        detail += (f"; every sample within {SNIPPET_HALF_S:g} s of " + (f"all {sn['beats']:,}" if sn["beats"] == sn["flagged"]
                   else f"{sn['beats']:,} (every {int(np.ceil(sn['flagged'] / sn['beats']))}th) of the {sn['flagged']:,}")
                   + " beats not called N or not as the reference says (zoom in to under "
                   f"{spec['max_points'] / fs / 2:.0f} s to see them)")
    note = (f"{len(sig):,} samples at {fs:g} Hz ({_hms(dur)}), {len(times):,} beats. Drag to pan, scroll or drag a box to "
            f"zoom, click the overview strip at the bottom to jump, or use the buttons above; hover a marker for the beat's class "
            f"probabilities; click a class in the legend to hide it. Detail kept in this page: {detail}.")
    strip = fig_html(fig, div, js, height=520)
    summary = _record_summary(times, pred, prob, classes, dur, ref)
    sections = [section("Per-class summary", summary)]
    if episodes:
        from ...ecg.rhythm import af_burden

        af_s = sum(float(e["end_s"]) - float(e["start_s"]) for e in episodes)
        spans = sorted([(e, str(e.get("rhythm", "AF"))) for e in episodes[:500]]
                       + [(b, "break between AF episodes (AF context)") for b in list(bridges)[:500]],
                       key=lambda r: float(r[0]["start_s"]))
        rows = [[name, _hms(float(e["start_s"])), _hms(float(e["end_s"])), float(e["end_s"]) - float(e["start_s"])]
                for e, name in spans]
        sections.append(section("Rhythm: atrial fibrillation / flutter episodes", table(
            rows, ["rhythm", "start", "end", "duration (s)"]),
            f"{len(episodes)} episode(s), {_hms(af_s)} in all ({100 * af_burden(episodes, times):.1f} % of the "
            "time from the first beat to the last, less gaps without beats), "
            "orange bands on the strip. Found from the R-R intervals (cardiacml.ecg.rhythm); inside an episode a "
            "beat is never called S for its irregularity alone"
            + (f", nor in the {len(bridges)} short break(s) between two episodes (lighter bands; not counted in the "
               "time in AF)." if len(bridges) else ".")))
    if quality_warning:
        sections.append(section("Signal quality", "", f"{html.escape(str(quality_warning))} (grey bands)."))
    elif stretches and low is not None:
        called = ", ".join(f"{classes[k]} {int(v)}" for k, v in enumerate(np.bincount(pred[low], minlength=len(classes)))
                           if v)
        sections.append(section("Signal quality", "", f"{int(low.sum()):,} beat(s) in {len(merged):,} stretch(es) the "
                                f"signal-quality check rejects (grey bands; called {html.escape(called)}): their classes are less "
                                "reliable (the CSV's low_quality column marks them)"
                                + (f"; drawn as {len(stretches)} band(s), joined across gaps of up to "
                                   f"{joined_s:.{0 if joined_s >= 1 else 2}f} s." if len(stretches) < len(merged) else ".")))
    return write_page(path, title, sections + [section("Recording", lod + strip, note)])


def _merge_stretches(stretches) -> list:
    """``[start_s, end_s]`` pairs (any order; a list or an (n, 2) array) sorted, and merged where they overlap or
    touch. Raises ValueError for a pair that is not two finite numbers with start <= end."""
    pairs = []
    for st in stretches:
        a, b = (float(v) for v in st)
        if not (np.isfinite(a) and np.isfinite(b) and a <= b):
            raise ValueError(f"low-quality stretch {[a, b]}: expected finite [start_s, end_s] with start <= end")
        pairs.append([a, b])
    merged: list = []
    for a, b in sorted(pairs, key=lambda p: p[0]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _cap_stretches(stretches, most: int) -> tuple[list, float]:
    """``stretches`` (``[start_s, end_s]``, any order; merged first, :func:`_merge_stretches`) joined across their
    ``len - most`` shortest gaps (the earlier of equal gaps first), so that exactly ``most`` remain when there were
    more; and the longest gap joined (0: none)."""
    if most < 1:
        raise ValueError(f"most must be >= 1, got {most}")
    merged = _merge_stretches(stretches)
    if len(merged) <= most:
        return merged, 0.0
    gaps = np.array([b[0] - a[1] for a, b in zip(merged[:-1], merged[1:])])
    join = np.zeros(len(gaps), bool)
    join[np.argsort(gaps, kind="stable")[:len(merged) - most]] = True
    out = [list(merged[0])]
    for (a, b), j in zip(merged[1:], join):
        if j:
            out[-1][1] = b
        else:
            out.append([a, b])
    return out, float(gaps[join].max())


def _hms(seconds: float) -> str:
    """:func:`cardiacml.utils.format_duration` (the console's too): ``9.5 s`` was ``0 min 10 s`` here."""
    from ...utils import format_duration

    return format_duration(seconds)


