"""Interactive pages of the heart: activation maps, a Vm movie and a 12-lead ECG viewer on the real mesh.

The real heart mesh (surface of ``load_geometry()``), site values Shepard-interpolated exactly as the
static renders in :mod:`cardiacml.viz.heart`; true vs predicted activation maps with one colour
scale, Vm over time with a slider and play button, a 12-lead ECG viewer on a calibrated grid.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .page import CLASS_COLOURS, PAGE_BUDGET, b64, colour, fig_html, section, table, write_page  # noqa: F401
from ...utils import format_percentile



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
        from ...datasets.geometry import load_geometry

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
        # orthographic: every copy is seen from exactly the same direction (a perspective camera between two copies
        # shows the left one from its right side and the right one from its left: two different-looking hearts)
        camera = dict(eye=dict(x=0.0, y=-d, z=0.25 * d), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=-0.05),
                      projection=dict(type="orthographic"))
        return dict(_SCENE, domain=dict(x=[0, 1], y=list(domain_y)), annotations=ann, camera=camera)

    def interpolate(self, site_values: np.ndarray) -> np.ndarray:
        """(75,) or (75, T) -> (V,) or (V, T): cardiacml.viz.heart.shepard_interpolate on the surface vertices."""
        from ..heart import shepard_interpolate

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

    def sites(self, values, *, scene: str, name: str, unit: str, extra=None, dx: float = 0.0, missing: str | None = None):
        """The 75 sites as black dots, hover: name, value (and ``extra``'s, another map's). ``missing``: the values go
        as text, a NaN one as ``missing`` (a site that never activates: d3 wrote "NaN ms")."""
        import plotly.graph_objects as go

        cd = np.asarray(values, np.float32)[:, None] if extra is None else np.stack([values, extra], 1).astype(np.float32)
        val = "%{{customdata[{}]:.1f}} " + unit
        if missing is not None:
            cd = np.array([[f"{v:.1f} {unit}" if np.isfinite(v) else missing for v in row] for row in cd], dtype=object)
            val = "%{{customdata[{}]}}"
        extra_t = "" if extra is None else "<br>%{meta}: " + val.format(1)
        return go.Scatter3d(x=self.g.site_xyz[:, 0] + dx, y=self.g.site_xyz[:, 1], z=self.g.site_xyz[:, 2], mode="markers",
                            scene=scene, name=name, text=list(self.g.site_names), customdata=cd, showlegend=False,
                            marker=dict(size=3, color="black"),
                            hovertemplate=f"<b>%{{text}}</b><br>{name}: {val.format(0)}{extra_t}<extra></extra>")


_CAMERA = dict(eye=dict(x=0.0, y=-1.9, z=0.45), up=dict(x=0, y=0, z=1))
_SCENE = dict(xaxis=dict(visible=False), yaxis=dict(visible=False), zaxis=dict(visible=False), aspectmode="data",
              camera=_CAMERA, dragmode="turntable")


def activation_figure(surface: _Surface, act_true=None, act_pred=None, *, label: str = "activation time (ms)"):
    """Side-by-side (or single) activation maps on the heart with one colour scale."""
    import plotly.graph_objects as go

    maps = [(n, np.asarray(v, np.float64)) for n, v in (("true", act_true), ("predicted", act_pred)) if v is not None]
    fields = [surface.interpolate(v) for _, v in maps]
    # the scale spans the site values too (the hover and the CSV): the surface, interpolated between sites, never
    # reaches the earliest or latest site (an intramural septal site, a site off the surface's vertices), and a bar
    # of 19-103 ms beside sites at 15.9 and 112.3 ms (heart-act on E07509) misread the map's extremes
    finite = np.concatenate([f[np.isfinite(f)] for f in fields] + [v[np.isfinite(v)] for _, v in maps])
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
        fig.add_trace(surface.sites(v, scene="scene", name=name, unit="ms", extra=other[0][1] if other else None, dx=dx,
                                    missing="not activated"))
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
    vmin = float(np.floor(min(np.nanmin(v) for _, v in vms) / 5) * 5)  # a NaN site: no NaN colour range
    vmax = float(np.ceil(max(np.nanmax(v) for _, v in vms) / 5) * 5)
    if vmax <= vmin:
        vmax = vmin + 1
    codes = [_vm_u8(f, vmin, vmax) for f in fields]
    from ...datasets.intracardiac import upstroke_times

    act0 = upstroke_times(vms[0][1])
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


def lead_range(x: np.ndarray, max_ticks: int = 6) -> tuple[float, float, float]:
    """(low, high, tick step) in mV for one lead: the whole trace visible, the step 0.5 mV (the paper's large square)
    unless that would label more than ``max_ticks`` lines, then 1, 2 or 5 mV."""
    finite = np.asarray(x, np.float64)[np.isfinite(x)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-0.5, 0.5)
    lo, hi = min(lo, -0.25), max(hi, 0.25)
    for dtick in (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0):
        if (hi - lo) / dtick <= max_ticks:
            break
    pad = 0.25 * dtick
    return float(np.floor(lo / dtick) * dtick - pad), float(np.ceil(hi / dtick) * dtick + pad), dtick


#: note under the 12-lead viewer of a window in mV, and of a normalised model-input window (window version 2)
ECG_NOTE_MV = ("Grid as on ECG paper: small squares 40 ms x 0.1 mV, large squares 200 ms x 0.5 mV (1 mm and "
               "5 mm at 25 mm/s, 10 mm/mV; a lead with a range over 3 mV gets wider squares: read its "
               "labels); each lead has its own voltage range; the panels are stretched to fit the screen, not drawn to paper "
               "scale.")
ECG_NOTE_NORMALISED = ("Amplitudes are the model's input units, not mV: the window is divided by its amplitude scale "
                       "(the median over the 12 leads of the QRS peak-to-peak), so 1 unit is about one QRS. Grid: 40 ms x "
                       "0.1 unit, 200 ms x 0.5 unit; each lead has its own range.")


def ecg_figure(ecg: np.ndarray, fs: float = 1000.0, leads=None, *, title: str = "", units: str = "mV"):
    """12-lead viewer on a calibrated grid: 3 x 4 panels (I, II, III / aVR, aVL, aVF / V1-V3 / V4-V6).

    Axes are in ms and mV with the paper grid: minor lines every 40 ms and 0.1 mV (1 mm at
    25 mm/s and 10 mm/mV), major lines every 200 ms and 0.5 mV (5 mm; wider on a lead whose range would
    otherwise carry more than 6 labels, see :func:`lead_range`). Each lead has its own voltage range (the whole
    trace visible, labels never overlap); all panels share the time axis, so zooming one lead in time moves all twelve.
    ``units``: the amplitude's unit on the axes and in the hover ("normalised" for a model's input window).
    """
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    from ...contracts.ecg12 import LEADS
    from ..plots import LEAD_GRID

    ecg = np.asarray(ecg, np.float64)
    leads = list(leads or LEADS)
    if ecg.ndim != 2 or ecg.shape[0] != len(leads):
        from ...errors import DataFormatError

        raise DataFormatError(f"ECG viewer: expected ({len(leads)}, n) mV, got shape {ecg.shape}")
    order_rows = [LEAD_GRID[r][c] for r in range(3) for c in range(4)]
    fig = make_subplots(rows=3, cols=4, shared_xaxes="all", shared_yaxes=False, horizontal_spacing=0.045,
                        vertical_spacing=0.06, subplot_titles=order_rows)
    t = np.arange(ecg.shape[1]) / fs * 1000.0
    for n, name in enumerate(order_rows):
        if name not in leads:
            continue
        r, c = divmod(n, 4)
        fig.add_trace(go.Scatter(x=t.astype(np.float32), y=ecg[leads.index(name)].astype(np.float32), mode="lines",
                                 line=dict(color="black", width=1.3), name=name,
                                 hovertemplate=f"{name}<br>%{{x:.0f}} ms<br>%{{y:.3f}} {units}<extra></extra>"),
                      row=r + 1, col=c + 1)
    grid = dict(showgrid=True, gridcolor="#e38b8b", gridwidth=1, zeroline=False, showline=False, ticks="",
                minor=dict(showgrid=True, gridcolor="#f7d4d4", gridwidth=0.5))
    fig.update_xaxes(**grid, dtick=200, minor_dtick=40, range=[t[0], t[-1]], tickfont=dict(size=10))
    for n, name in enumerate(order_rows):  # each lead its own voltage range, at most 6 labelled ticks
        if name not in leads:
            continue
        lo, hi, dtick = lead_range(ecg[leads.index(name)])
        fig.update_yaxes(**grid, dtick=dtick, minor_dtick=dtick / 5, range=[lo, hi], tickfont=dict(size=9),
                         row=n // 4 + 1, col=n % 4 + 1)
    for c in range(4):
        fig.update_xaxes(title_text="time (ms)", title_font=dict(size=11), row=3, col=c + 1)
    for r in range(3):
        fig.update_yaxes(title_text=units, title_font=dict(size=11), row=r + 1, col=1)
    fig.update_layout(height=680, margin=dict(l=50, r=10, t=70 if title else 50, b=40), showlegend=False,
                      plot_bgcolor="#fffafa", dragmode="zoom", hovermode="closest",
                      title=dict(text=title, x=0.01) if title else None)
    return fig


def heart_sections(*, act_true=None, act_pred=None, vm_true=None, vm_pred=None, ecg=None, fs_ecg: float = 1000.0,
                   fs_vm: float = 1000.0, step_ms: int = 10, id_prefix: str = "heart", caption: str = "", geometry=None,
                   activation_definition: str | None = None, ecg_units: str = "mV") -> list[str]:
    """The HTML sections of :func:`heart_page` (no plotly.js), for embedding in a larger page.

    ``ecg_units``: "mV", or "normalised" for a model's input window (a run's examples: window version 2 divides
    each window by its amplitude scale), which the viewer then labels as such, not as mV on ECG paper."""
    out = []
    for name, v in (("vm_true", vm_true), ("vm_pred", vm_pred)):
        if v is not None and (np.ndim(v) != 2 or np.shape(v)[0] != 75):
            from ...errors import DataFormatError

            raise DataFormatError(f"heart page: {name} must be (75, T) mV, got shape {np.shape(v)}")
    if act_true is None and act_pred is None and (vm_true is not None or vm_pred is not None):
        from ...datasets.intracardiac import UPSTROKE_THRESHOLD_MV, VM_ACTIVATION_DEFINITION, upstroke_times

        act_true = None if vm_true is None else upstroke_times(np.asarray(vm_true))
        act_pred = None if vm_pred is None else upstroke_times(np.asarray(vm_pred))
        derived = f" (derived from Vm: first time each site's Vm rises above {UPSTROKE_THRESHOLD_MV:g} mV)"
        definition = VM_ACTIVATION_DEFINITION
    else:
        from ...datasets.intracardiac import ACTIVATION_DEFINITION

        derived, definition = "", activation_definition or ACTIVATION_DEFINITION
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
                    + (" (Vm never rises above -40 mV)." if derived else "."))
    surface = _Surface(geometry) if any(v is not None for v in (act_true, act_pred, vm_true, vm_pred)) else None
    for name, v in (("act_true", act_true), ("act_pred", act_pred)):
        if v is not None and np.shape(v) != (len(surface.g.site_names),):
            from ...errors import DataFormatError

            raise DataFormatError(f"heart page: {name} must have one value per site (75,), got shape {np.shape(v)}")
    if act_true is not None or act_pred is not None:
        fig = activation_figure(surface, act_true, act_pred)
        what = "True vs predicted activation maps" if act_true is not None and act_pred is not None else \
            ("Predicted" if act_pred is not None else "True") + " activation map"
        out.append(section(what + derived, fig_html(fig, f"{id_prefix}-activation"),
                            "Values at the 75 sites (black dots; hover for name and value) interpolated over the heart's "
                            "surface with the Shepard kernel (inverse squared distance, as the static renders and "
                            f"ParaView's ShepardKernel). Definition: {definition}. " + ("One colour scale for both views, both seen from exactly the "
                            "same direction (orthographic view: the same region is in the same place on each heart); drag "
                            "to rotate (both views turn together), scroll to zoom." if act_true is not None and act_pred is not None else
                            "Drag to rotate, scroll to zoom.") + caption))
    if act_true is None and act_pred is None and missing:
        out.append(section("Activation map", "", caption.strip()))
    if vm_true is not None or vm_pred is not None:
        fig = vm_figure(surface, vm_true, vm_pred, step_ms=step_ms, fs=fs_vm)
        out.append(section("Transmembrane potential Vm over time", fig_html(fig, f"{id_prefix}-vm"),
                            f"One frame every {step_ms} ms: press play or drag the slider"
                            + ("; true and predicted are always shown at the same instant and turn together"
                               if vm_true is not None and vm_pred is not None else "")
                            + ". Hover a site for its exact Vm at that instant. The first frame shown is the one "
                            "nearest the median activation time."))
    if ecg is not None:
        mv = ecg_units == "mV"
        fig = ecg_figure(np.asarray(ecg), fs_ecg, units=ecg_units)
        out.append(section("12-lead ECG" + ("" if mv else " (model input, normalised amplitude)"),
                            fig_html(fig, f"{id_prefix}-ecg"),
                            (ECG_NOTE_MV if mv else ECG_NOTE_NORMALISED)
                            + " Drag a box to zoom (all leads follow in time), double-click to reset, shift-drag to pan."))
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
        derived from Vm (first crossing of -40 mV upward: ``VM_ACTIVATION_DEFINITION``).
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
        from ...errors import DataFormatError

        raise DataFormatError(f"heart page {path}: nothing to show (give act_*, vm_* or ecg)")
    return write_page(path, title, sections, intro)




def provenance_note(*, model: str | None = None, source: str | None = None, window: dict | None = None,
                    window_version: int | None = None, unfamiliarity: dict | None = None, index: int = 0,
                    definition: str | None = None) -> str:
    """The caveat at the top of every predicted-heart page: model, input, window, training domain, unfamiliarity."""
    from html import escape

    rows = []
    if model:
        rows.append(f"<b>Model</b>: {escape(str(model))}, <b>trained on simulated hearts only</b> (cardiacml simulator); "
                    "its accuracy on real patients is not measured.")
    else:
        rows.append("<b>Trained on simulated hearts only</b> (cardiacml simulator); accuracy on real patients is not measured.")
    if source:
        rows.append(f"<b>Input</b>: {escape(str(source))}")
    if window:
        w = window
        beat = f"beat {w.get('beat')} of {w.get('n_beats')}, " if w.get("beat") is not None else ""
        onset = f" (QRS onset at {w['qrs_onset_s']:.3f} s)" if w.get("qrs_onset_s") is not None else ""
        version = f", window version {window_version}" if window_version is not None else ""
        rows.append(f"<b>Window</b>: {beat}{w.get('length_ms', 500):g} ms from {float(w.get('start_s', 0.0)):.3f} s"
                    f"{onset}{version}")
    elif window_version is not None:
        rows.append(f"<b>Window</b>: the input as given (500 ms), window version {window_version}")
    if unfamiliarity is not None:
        score = float(np.asarray(unfamiliarity["score"])[index])
        pct = float(np.asarray(unfamiliarity["percentile"])[index])
        flag = bool(np.asarray(unfamiliarity["unfamiliar"])[index])
        pct_text = format_percentile(pct)  # as the console: 99.8 is not 100
        rows.append(f"<b>Unfamiliar-input score</b>: {score:.1f} (threshold {float(unfamiliarity['threshold']):.1f}; higher "
                    f"than {pct_text} % of held-out simulated inputs) - "
                    + ("<b style='color:#b00'>UNFAMILIAR: unlike every input the model was trained on; do not trust this "
                       "map</b>" if flag else "within the range of the training inputs"))
    else:
        rows.append("<b>Unfamiliar-input score</b>: not available for this model (ONNX, or a run trained before the score "
                    "existed)")
    if definition:
        rows.append(f"<b>Definition</b>: {escape(definition)}")
    return "<p class='note'>" + "<br>".join(rows) + "</p>"


def prediction_heart_page(path, ecg: np.ndarray, pred: np.ndarray, *, index: int = 0, title: str | None = None,
                          model: str | None = None, source: str | None = None, windows: list | None = None,
                          window_version: int | None = None, unfamiliarity: dict | None = None) -> Path:
    """:func:`heart_page` for ``cardiacml predict`` on 12-lead ECGs.

    ``ecg`` (n, 12, 500) mV as read by ``read_ecg12``; ``pred`` (n, 75) activation times (Task 3)
    or (n, 75, 500) Vm (Task 4; the activation map is derived from it). Shows ECG ``index``. The page opens
    with :func:`provenance_note`: the model, the input, the window cut from it, "trained on simulated hearts
    only", the unfamiliar-input score and the definition of the activation time shown.
    """
    from ...datasets.intracardiac import ACTIVATION_DEFINITION, VM_ACTIVATION_DEFINITION

    ecg, pred = np.asarray(ecg), np.asarray(pred)
    if not 0 <= index < len(pred):
        from ...errors import DataFormatError

        raise DataFormatError(f"heart page {path}: ECG index {index} out of range (0..{len(pred) - 1})")
    note = provenance_note(model=model, source=source, window=(windows or [None] * len(pred))[index] if windows else None,
                           window_version=window_version, unfamiliarity=unfamiliarity, index=index,
                           definition=ACTIVATION_DEFINITION if pred.ndim == 2 else VM_ACTIVATION_DEFINITION)
    if len(pred) > 1:
        note += (f"<p class='note'>Prediction for ECG #{index} of {len(pred)} (this page draws one; the CSV holds all "
                 f"{len(pred)}: <code>--beat K</code> draws beat K).</p>")
    if pred.ndim == 2:
        return heart_page(path, act_pred=pred[index], ecg=ecg[index], title=title or "cardiacml: predicted activation map",
                          intro=note)
    return heart_page(path, vm_pred=pred[index], ecg=ecg[index], title=title or "cardiacml: predicted Vm", intro=note)
