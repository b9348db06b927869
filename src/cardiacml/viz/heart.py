"""The heart in 3-D: site values interpolated to the mesh (Shepard kernel), rendered off-screen.

Interpolation follows ParaView's ShepardKernel filter (vtkShepardKernel): the value at
a mesh point is the inverse-distance-weighted mean ``sum_i w_i v_i / sum_i w_i`` with
``w_i = 1 / d_i ** power`` over the N closest sites (default: all), and exactly the site
value where a point coincides with a site. Rendering uses pyvista/VTK off-screen (EGL)
when installed and falls back on matplotlib otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.geometry import HeartGeometry, load_geometry


def shepard_weights(sources: np.ndarray, targets: np.ndarray, power: float = 2.0, n_closest: int | None = None,
                    eps: float = 1e-9) -> np.ndarray:
    """Shepard (inverse-distance) weight matrix, shape (n_targets, n_sources); rows sum to 1.

    A target closer than ``eps`` to a source takes that source's value exactly.
    """
    from scipy.spatial.distance import cdist

    d = cdist(targets, sources)
    if n_closest is not None and n_closest < sources.shape[0]:
        far = np.argsort(d, axis=1)[:, n_closest:]
        mask = np.zeros_like(d, bool)
        np.put_along_axis(mask, far, True, axis=1)
    else:
        mask = None
    hit = d < eps
    with np.errstate(divide="ignore"):
        w = 1.0 / np.maximum(d, eps) ** power
    if mask is not None:
        w[mask] = 0.0
    rows = hit.any(1)
    w[rows] = hit[rows].astype(float)
    return w / w.sum(1, keepdims=True)


def shepard_interpolate(site_values: np.ndarray, geometry: HeartGeometry | None = None, power: float = 2.0,
                        n_closest: int | None = None, points: np.ndarray | None = None) -> np.ndarray:
    """Values at the 75 sites -> values at every mesh point (or at ``points``).

    ``site_values`` may be (75,) or (75, T) (e.g. Vm over time). Sites whose value
    is NaN (never activated) are left out of the interpolation.
    """
    g = geometry or load_geometry()
    v = np.asarray(site_values, np.float64)
    ok = np.isfinite(v) if v.ndim == 1 else np.isfinite(v).all(1)
    if not ok.any():
        raise ValueError("no finite site values to interpolate")
    W = shepard_weights(g.site_xyz[ok], g.points if points is None else points, power, n_closest)
    return W @ v[ok]


def export_vtu(point_values: dict, path: str | Path, geometry: HeartGeometry | None = None) -> Path:
    """Write the mesh with fields as .vtu (or legacy .vtk), for ParaView.

    Parameters
    ----------
    point_values : dict
        name -> (n_points,) values at the mesh's points, or (n_sites,) values at the 75 sites (activation ms, Vm mV at
        one time), which are Shepard-interpolated to the points (:func:`shepard_interpolate`, as ParaView's filter).
    path : str or Path
        ``.vtu`` or ``.vtk``; written whole or not at all.
    """
    import meshio

    from ..errors import DataFormatError
    from ..utils import atomic_path

    g = geometry or load_geometry()
    fields = {}
    for name, v in point_values.items():
        v = np.asarray(v, np.float64)
        if v.shape == (len(g.points),):
            fields[str(name)] = v
        elif v.shape == (len(g.site_xyz),):
            fields[str(name)] = shepard_interpolate(v, g)
        else:
            raise DataFormatError(f"export_vtu: field {name!r} has shape {v.shape}; give one value a mesh point "
                                  f"({len(g.points)},) or one a site ({len(g.site_xyz)},)")
    mesh = meshio.Mesh(g.points, [("tetra", g.tetra)], point_data=fields)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        mesh.write(tmp, file_format="vtu" if path.suffix.lower() == ".vtu" else "vtk")
    return path


def _has_vtk() -> bool:
    try:
        import pyvista  # noqa: F401
        import vtk  # noqa: F401

        return True
    except ImportError:
        return False


def _surface_values(g: HeartGeometry, point_values: np.ndarray):
    faces = g.boundary_faces()
    return faces, point_values[faces].mean(1)


def render_heart(point_values: np.ndarray, path: str | Path | None = None, *, geometry: HeartGeometry | None = None,
                 title: str = "", clim=None, cmap: str = "jet", label: str = "", backend: str = "auto",
                 azimuth: float = 0.0, window_size=(600, 600), show_sites: bool = True) -> np.ndarray:
    """Render the heart coloured by a per-point field; returns the image (H, W, 3) uint8 and saves it to ``path``.

    ``backend``: ``"vtk"`` (pyvista off-screen), ``"matplotlib"`` or ``"auto"`` (vtk if installed).
    """
    g = geometry or load_geometry()
    point_values = np.asarray(point_values, np.float64)
    if point_values.shape != (len(g.points),):
        raise ValueError(f"expected one value per mesh point ({len(g.points)}), got shape {point_values.shape}")
    clim = clim or (float(np.nanmin(point_values)), float(np.nanmax(point_values)))
    use_vtk = backend == "vtk" or (backend == "auto" and _has_vtk())
    img = _render_vtk(g, point_values, title, clim, cmap, label, azimuth, window_size, show_sites) if use_vtk else \
        _render_mpl(g, point_values, title, clim, cmap, label, azimuth, window_size, show_sites)
    if path is not None:
        _save_image(img, path)
    return img


def bar_fonts(window_size) -> dict:
    """Colour-bar text sizes (px) for a render of ``window_size``: a report shows a side-by-side pair at about
    half its width, so the text is sized to stay about 10 px or more there."""
    w = int(window_size[0])
    return {"title_font_size": max(18, w // 22), "label_font_size": max(16, w // 26)}


def _render_vtk(g, values, title, clim, cmap, label, azimuth, window_size, show_sites):
    import os

    if not os.environ.get("DISPLAY"):  # headless: render through EGL, no X server needed
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista as pv

    grid = pv.UnstructuredGrid({pv.CellType.TETRA: g.tetra}, g.points)
    grid.point_data["value"] = values
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surf = grid.extract_surface()
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    pl.add_mesh(surf, scalars="value", cmap=cmap, clim=clim, smooth_shading=True,
                scalar_bar_args={"title": (label or "value") + "\n", "color": "black", "vertical": False, "fmt": "%.0f",
                                 "n_labels": 5, "position_x": 0.15, "position_y": 0.02, "width": 0.7, "height": 0.1,
                                 **bar_fonts(window_size)})
    if show_sites:
        pl.add_points(g.site_xyz, color="black", point_size=5, render_points_as_spheres=True)
    if title:
        pl.add_text(title, font_size=11, color="black")
    pl.camera_position = "xz"
    pl.camera.azimuth = azimuth
    pl.camera.elevation = 15
    pl.reset_camera()
    img = pl.screenshot(return_img=True)
    pl.close()
    return np.asarray(img[..., :3], np.uint8)


def _render_mpl(g, values, title, clim, cmap, label, azimuth, window_size, show_sites):
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    faces, fv = _surface_values(g, values)
    norm = plt.Normalize(*clim)
    colors = plt.get_cmap(cmap)(norm(fv))
    dpi = 100
    fig = plt.figure(figsize=(window_size[0] / dpi, window_size[1] / dpi), dpi=dpi)
    ax = fig.add_subplot(projection="3d")
    ax.add_collection3d(Poly3DCollection(g.points[faces], facecolors=colors, edgecolor="none"))
    if show_sites:
        ax.scatter(*g.site_xyz.T, c="k", s=4)
    lo, hi = g.points.min(0), g.points.max(0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect(hi - lo)
    ax.view_init(elev=15, azim=-90 + azimuth)
    ax.set_axis_off()
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = fig.colorbar(sm, ax=ax, shrink=0.6, format="%.0f", pad=0.08)
    fonts = bar_fonts(window_size)  # px -> pt at this figure's dpi
    cb.set_label(label, fontsize=fonts["title_font_size"] * 72 / dpi)
    cb.ax.tick_params(labelsize=fonts["label_font_size"] * 72 / dpi)
    if title:
        ax.set_title(title)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return img


def render_comparison(true_sites: np.ndarray, pred_sites: np.ndarray, path: str | Path | None = None, *,
                      label: str = "activation time (ms)", backend: str = "auto", geometry=None) -> np.ndarray:
    """Side-by-side true vs predicted site values (e.g. activation maps) on the heart, common colour scale."""
    g = geometry or load_geometry()
    tv, pv_ = shepard_interpolate(true_sites, g), shepard_interpolate(pred_sites, g)
    clim = (float(np.nanmin([tv.min(), pv_.min()])), float(np.nanmax([tv.max(), pv_.max()])))
    a = render_heart(tv, None, geometry=g, title="true", clim=clim, label=label, backend=backend)
    b = render_heart(pv_, None, geometry=g, title="predicted", clim=clim, label=label, backend=backend)
    h = min(a.shape[0], b.shape[0])
    img = np.concatenate([a[:h], b[:h]], axis=1)
    if path is not None:
        _save_image(img, path)
    return img


def _save_image(img: np.ndarray, path) -> Path:
    """An image (H, W, 3) uint8 to ``path`` (format from its suffix), atomically."""
    from PIL import Image

    from ..utils import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp, format=Image.registered_extensions().get(path.suffix.lower(), "PNG"))
    return path


def _save_gif(frames, path, fps):
    from PIL import Image

    from ..utils import atomic_path

    imgs = [Image.fromarray(f) for f in frames]
    with atomic_path(Path(path)) as tmp:  # a Ctrl-C in the middle of a long animation leaves no half GIF
        imgs[0].save(tmp, format="GIF", save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    return Path(path)


def _finite_site_weights(g, vm: np.ndarray):
    """Shepard weights from the sites whose Vm (75, T) is finite throughout, and that mask (as
    :func:`shepard_interpolate` leaves NaN sites out)."""
    ok = np.isfinite(vm).all(1)
    if not ok.any():
        raise ValueError("no site has finite Vm values to draw")
    return shepard_weights(g.site_xyz[ok], g.points), ok


def animate_vm(vm_sites: np.ndarray, path: str | Path, *, step_ms: int = 10, fps: int = 10, backend: str = "auto",
               geometry=None, window_size=(400, 400), title: str = "Vm") -> Path:
    """Animated GIF of Vm (75, 500) mV propagating over the heart, one frame every ``step_ms`` ms."""
    from ..datasets.intracardiac import VM_RANGE_MV

    g = geometry or load_geometry()
    vm = np.asarray(vm_sites, np.float64)
    W, ok = _finite_site_weights(g, vm)  # a NaN site is left out (it greyed the whole heart in every frame)
    frames = [render_heart(W @ vm[ok, t], None, geometry=g, title=f"{title} at {t} ms", clim=VM_RANGE_MV, label="Vm (mV)",
                           backend=backend, window_size=window_size, show_sites=False)
              for t in range(0, vm.shape[1], step_ms)]
    return _save_gif(frames, path, fps)


def animate_vm_comparison(vm_true: np.ndarray, vm_pred: np.ndarray, path: str | Path, *, step_ms: int = 10, fps: int = 10,
                          backend: str = "auto", geometry=None, window_size=(360, 360)) -> Path:
    """One GIF, true (left) and predicted (right) Vm (75, 500) side by side, same instant in every frame, labelled."""
    from ..datasets.intracardiac import VM_RANGE_MV

    g = geometry or load_geometry()
    vt, vp = np.asarray(vm_true, np.float64), np.asarray(vm_pred, np.float64)
    Wt, okt = _finite_site_weights(g, vt)
    Wp, okp = _finite_site_weights(g, vp)
    frames = []
    for t in range(0, vt.shape[1], step_ms):
        a = render_heart(Wt @ vt[okt, t], None, geometry=g, title=f"true Vm, {t} ms", clim=VM_RANGE_MV, label="Vm (mV)",
                         backend=backend, window_size=window_size, show_sites=False)
        b = render_heart(Wp @ vp[okp, t], None, geometry=g, title=f"predicted Vm, {t} ms", clim=VM_RANGE_MV, label="Vm (mV)",
                         backend=backend, window_size=window_size, show_sites=False)
        h = min(a.shape[0], b.shape[0])
        frames.append(np.concatenate([a[:h], b[:h]], axis=1))
    return _save_gif(frames, path, fps)


def animate_rotation(point_values: np.ndarray, path: str | Path, *, n_frames: int = 24, fps: int = 8, backend: str = "auto",
                     label: str = "", geometry=None, window_size=(400, 400)) -> Path:
    """Animated GIF of the heart turning once around its long axis."""
    frames = [render_heart(point_values, None, geometry=geometry, label=label, backend=backend, azimuth=360.0 * k / n_frames,
                           window_size=window_size) for k in range(n_frames)]
    return _save_gif(frames, path, fps)
