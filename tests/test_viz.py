import json

import numpy as np
import pytest

from cardiacml.datasets.geometry import load_geometry
from cardiacml.viz import plots
from cardiacml.viz.heart import (animate_rotation, animate_vm, export_vtu, render_comparison, render_heart,
                                 shepard_interpolate, shepard_weights)


@pytest.fixture(scope="module")
def geo():
    return load_geometry()


def _nonblank(img, min_colors=50):
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert img.std() > 10, "image is (almost) uniform"
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > min_colors


def test_shepard_exact_at_sites_and_bounded(geo):
    v = np.random.default_rng(0).uniform(-80, 30, 75)
    at_sites = shepard_interpolate(v, geo, points=geo.site_xyz)
    np.testing.assert_allclose(at_sites, v, atol=1e-9)
    field = shepard_interpolate(v, geo)
    assert field.shape == (8033,)
    assert field.min() >= v.min() - 1e-9 and field.max() <= v.max() + 1e-9
    W = shepard_weights(geo.site_xyz, geo.points, n_closest=8)
    assert np.all((W > 0).sum(1) <= 8)
    np.testing.assert_allclose(W.sum(1), 1)
    # NaN sites (never activated) are left out rather than poisoning the field
    v[3] = np.nan
    assert np.isfinite(shepard_interpolate(v, geo)).all()


def test_shepard_matches_vtk_shepard_kernel(geo):
    vtk = pytest.importorskip("vtk")
    from vtk.util.numpy_support import numpy_to_vtk, vtk_to_numpy

    values = geo.site_xyz[:, 2] * 0.5 + np.sin(geo.site_xyz[:, 0] / 9.0) * 10
    src = vtk.vtkPolyData()
    pts = vtk.vtkPoints()
    pts.SetData(numpy_to_vtk(geo.site_xyz.copy()))
    src.SetPoints(pts)
    arr = numpy_to_vtk(values.copy())
    arr.SetName("v")
    src.GetPointData().AddArray(arr)
    tgt = vtk.vtkPolyData()
    tp = vtk.vtkPoints()
    tp.SetData(numpy_to_vtk(geo.points[::10].copy()))
    tgt.SetPoints(tp)
    kernel = vtk.vtkShepardKernel()
    kernel.SetPowerParameter(2.0)
    kernel.SetKernelFootprintToNClosest()
    kernel.SetNumberOfPoints(10)
    interp = vtk.vtkPointInterpolator()
    interp.SetInputData(tgt)
    interp.SetSourceData(src)
    interp.SetKernel(kernel)
    interp.Update()
    ref = vtk_to_numpy(interp.GetOutput().GetPointData().GetArray("v"))
    ours = shepard_interpolate(values, geo, n_closest=10, points=geo.points[::10])
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)


def test_vtu_round_trip(geo, tmp_path):
    import meshio

    field = shepard_interpolate(geo.site_xyz[:, 0], geo)
    for ext in ("vtu", "vtk"):
        p = export_vtu({"activation_ms": field}, tmp_path / f"heart.{ext}", geo)
        m = meshio.read(p)
        np.testing.assert_allclose(m.points, geo.points)
        np.testing.assert_array_equal(m.cells_dict["tetra"], geo.tetra)
        np.testing.assert_allclose(m.point_data["activation_ms"], field)


@pytest.mark.parametrize("backend", ["matplotlib", "vtk"])
def test_render_heart_nonblank(geo, tmp_path, backend):
    if backend == "vtk":
        pytest.importorskip("pyvista")
    field = shepard_interpolate(geo.site_xyz[:, 2], geo)
    img = render_heart(field, tmp_path / "h.png", geometry=geo, backend=backend, window_size=(320, 300), label="z (mm)")
    assert img.shape[:2] == (300, 320)
    _nonblank(img)
    from PIL import Image

    assert Image.open(tmp_path / "h.png").size == (320, 300)
    with pytest.raises(ValueError, match="one value per mesh point"):
        render_heart(field[:10], backend=backend)


def test_comparison_and_animations(geo, tmp_path):
    from PIL import Image

    a = geo.site_xyz[:, 2]
    img = render_comparison(a, a + 5, tmp_path / "cmp.png", backend="matplotlib")
    assert img.shape[1] > img.shape[0]  # side by side
    _nonblank(img)
    vm = np.full((75, 60), -85.0)
    for j in range(75):
        vm[j, 5 + j // 3:] = 20.0
    gif = animate_vm(vm, tmp_path / "vm.gif", step_ms=10, backend="matplotlib", window_size=(200, 200))
    im = Image.open(gif)
    assert im.n_frames == 6
    frames = []
    for k in range(im.n_frames):
        im.seek(k)
        frames.append(np.asarray(im.convert("RGB"), float))
    assert np.abs(frames[0] - frames[-1]).mean() > 1, "the wave must visibly propagate"
    rot = animate_rotation(shepard_interpolate(a, geo), tmp_path / "rot.gif", n_frames=4, backend="matplotlib", window_size=(200, 200))
    assert Image.open(rot).n_frames == 4
    # one NaN site is left out, as shepard_interpolate documents (it greyed the whole heart in every frame)
    vm[7] = np.nan
    gif = animate_vm(vm, tmp_path / "vm_nan.gif", step_ms=10, backend="matplotlib", window_size=(200, 200))
    im = Image.open(gif)
    im.seek(im.n_frames - 1)
    last = np.asarray(im.convert("RGB"), float)
    assert np.abs(last - frames[-1]).mean() < 2, "the heart is drawn as without the NaN site, not grey"


def test_ecg12_paper_grid_is_calibrated(tmp_path):
    ecg = np.zeros((12, 500))
    ecg[:, 100:110] = 1.0
    fig = plots.plot_ecg12(ecg, fs=1000, speed_mm_s=100, gain_mm_mv=10)
    ax = fig.axes[0]
    w_in = ax.get_position().width * fig.get_figwidth()
    x0, x1 = ax.get_xlim()
    assert (x1 - x0) / 25.4 == pytest.approx(w_in, rel=1e-6), "1 data unit = 1 mm on paper"
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 500]
    assert len(lines) == 12
    y = lines[0].get_ydata()
    assert np.ptp(y) == pytest.approx(10.0), "1 mV = 10 mm"
    x = lines[0].get_xdata()
    assert x[100] - x[0] == pytest.approx(10.0), "100 ms = 10 mm at 100 mm/s"
    fig.savefig(tmp_path / "e.png")
    from PIL import Image

    _nonblank(np.asarray(Image.open(tmp_path / "e.png").convert("RGB")), min_colors=10)
    ecg[3, 200:220] = np.nan  # a NaN gap in aVR blanks the gap only (np.median made the whole lead NaN)
    fig = plots.plot_ecg12(ecg, fs=1000, speed_mm_s=100, gain_mm_mv=10)
    ys = [np.asarray(ln.get_ydata(), float) for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 500]
    assert sorted(int(np.isfinite(y).sum()) for y in ys) == [480] + [500] * 11
    assert all(np.ptp(y[np.isfinite(y)]) == pytest.approx(10.0) for y in ys)


def test_metric_figures(tmp_path):
    cm = [[50, 2], [3, 40]]
    fig = plots.plot_confusion(cm, ["normal", "abnormal"])
    assert "50" in " ".join(t.get_text() for t in fig.axes[0].texts)
    fig = plots.plot_training_curves([{"epoch": 1, "train_loss": 1.0, "macro_f1": 0.5}, {"epoch": 2, "train_loss": 0.5, "macro_f1": 0.7}])
    assert len(fig.axes[1].get_lines()) == 1
    fig = plots.plot_beat(np.linspace(1, 0, 187), label="N", probs=[0.9, 0.05, 0.03, 0.01, 0.01], classes=list("NSVFQ"))
    assert fig.axes[1].get_title() == "predicted: N"
    fig = plots.plot_site_values({n: i for i, n in enumerate(load_geometry().site_names)}, title="MAE")
    fig.savefig(tmp_path / "s.png")


def test_report_is_self_contained(tmp_path):
    from typer.testing import CliRunner

    from cardiacml.cli import app

    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    fig = plots.plot_confusion([[5, 1], [0, 4]], ["normal", "abnormal"])
    fig.savefig(run / "figures" / "confusion.png")
    m = {"n": 10, "accuracy": 0.9, "macro_f1": 0.89, "confusion_matrix": [[5, 1], [0, 4]], "classes": ["normal", "abnormal"],
         "per_class": {"normal": {"precision": 1.0, "recall": 0.83, "f1": 0.9, "support": 6},
                       "abnormal": {"precision": 0.8, "recall": 1.0, "f1": 0.89, "support": 4}}}
    (run / "metrics.json").write_text(json.dumps({"test": m}))
    (run / "run.json").write_text(json.dumps({"model": "beatnet", "hparams": {}, "task": "task1", "kind": "classification",
                                              "config": {}, "data": {"source": "x", "protocol": "random"}, "n_parameters": 5,
                                              "best_epoch": 1, "train_time_s": 1.0, "cardiacml_version": "0.1.0"}))
    res = CliRunner().invoke(app, ["report", str(run)])
    assert res.exit_code == 0, res.output
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 1 and "src=\"http" not in html
    assert "Model card" in html and "overstate" in html and "0.9000" in html
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "not a run folder" in res.output


@pytest.mark.parametrize("backend", ["matplotlib", "vtk"])
def test_colour_bar_label_inside_image_and_ticks_clean(geo, tmp_path, backend):
    """The colour-bar title and ticks are drawn inside the image, away from its border, and do not touch each other."""
    if backend == "vtk":
        pytest.importorskip("pyvista")
    field = shepard_interpolate(np.linspace(-61.2, 25, 75), geo)
    img = render_heart(field, None, geometry=geo, backend=backend, window_size=(400, 400), label="Vm (mV)", clim=(-90, 30))
    dark = img.astype(int).sum(-1) < 200  # text and outlines
    border = np.concatenate([dark[:2].ravel(), dark[-2:].ravel(), dark[:, :2].ravel(), dark[:, -2:].ravel()])
    assert not border.any(), "something is drawn over the image border (clipped)"
    if backend == "vtk":  # horizontal bar at the bottom: title row, gap, tick-label row
        rows = np.flatnonzero(dark[int(0.75 * img.shape[0]):].any(1))
        assert rows.size, "no colour-bar text"
        gaps = np.diff(rows)
        assert (gaps > 1).sum() >= 1, "colour-bar title and tick labels overlap (no blank row between them)"


def test_training_curves_separate_axes_and_integer_epochs():
    hist = [{"epoch": e, "train_loss": 1.0 / e, "rmse_mv": 20.0 / e, "pearson_r_mean": 0.5 + e / 10} for e in (1, 2, 3)]
    fig = plots.plot_training_curves(hist, ("rmse_mv", "pearson_r_mean"))
    assert len(fig.axes) == 3, "RMSE (mV) and r never share an axis"
    fig.canvas.draw()
    ticks = [t for t in fig.axes[1].get_xticks() if fig.axes[1].get_xlim()[0] <= t <= fig.axes[1].get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks)


def test_report_has_headers_captions_and_settings(tmp_path):
    from cardiacml.viz.figures import _save
    from cardiacml.report import write_report

    run = tmp_path / "run"
    fig = plots.plot_confusion([[5, 1], [0, 4]], ["normal", "abnormal"])
    _save(fig, run / "figures" / "confusion.png", "Confusion matrix on the 10 test beats")
    m = {"n": 10, "accuracy": 0.9, "macro_f1": 0.89, "confusion_matrix": [[5, 1], [0, 4]], "classes": ["normal", "abnormal"],
         "per_class": {"normal": {"precision": 1.0, "recall": 0.83, "f1": 0.9, "support": 6},
                       "abnormal": {"precision": 0.8, "recall": 1.0, "f1": 0.89, "support": 4}}}
    (run / "metrics.json").write_text(json.dumps({"test": m}))
    (run / "run.json").write_text(json.dumps({
        "model": "beatnet", "hparams": {}, "task": "task1", "kind": "classification",
        "config": {"epochs": 4, "batch_size": 128, "lr": 0.003, "seed": 0},
        "data_args": {"max_train": 20000}, "data": {"source": "x", "protocol": "mitbih",
                                                    "note": "MIT-BIH normal (N) vs arrhythmic beats; does not detect infarction"},
        "n_parameters": 5, "best_epoch": 3, "train_time_s": 1.0, "cardiacml_version": "0.2.0"}))
    html = write_report(run).read_text()
    assert "<th></th>" not in html and "<th>field</th>" in html
    assert "Confusion matrix on the 10 test beats" in html and "<figcaption>confusion</figcaption>" not in html
    assert "does not detect infarction" in html and "20000 examples" in html and "3 (best) of at most 4" in html


def test_images_animations_and_captions_are_written_whole(geo, tmp_path, monkeypatch):
    """A heart image, an animation and a run's captions.json were written in place: a Ctrl-C during a long GIF left
    half a file under the final name. They go through atomic_path now: the old file stays whole, no temporary
    file is left."""
    from PIL import Image

    from cardiacml.viz.figures import caption_figure

    a = geo.site_xyz[:, 2]
    vm = np.full((75, 40), -85.0)
    vm[:, 10:] = 20.0
    gif = animate_vm(vm, tmp_path / "vm.gif", step_ms=10, backend="matplotlib", window_size=(120, 120))
    png = render_heart(shepard_interpolate(a, geo), tmp_path / "act.png", backend="matplotlib", window_size=(120, 120))
    before = gif.read_bytes()
    assert Image.open(tmp_path / "act.png").size[0] > 0 and png.ndim == 3
    save = Image.Image.save

    def interrupted(self, fp, *args, **kw):
        save(self, fp, *args, **kw)  # the bytes are written, then the user presses Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        animate_vm(vm * 0.5, gif, step_ms=10, backend="matplotlib", window_size=(120, 120))
    with pytest.raises(KeyboardInterrupt):
        render_heart(shepard_interpolate(a, geo), tmp_path / "new.png", backend="matplotlib", window_size=(120, 120))
    monkeypatch.undo()
    assert gif.read_bytes() == before and not (tmp_path / "new.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["act.png", "vm.gif"]  # no temporary file left
    caption_figure(gif, "Vm, true and predicted")
    assert json.loads((tmp_path / "captions.json").read_text()) == {"vm.gif": "Vm, true and predicted"}


def test_the_vm_colour_range_covers_what_a_task4_model_can_output():
    """The static Vm GIFs' scale was -90..30 mV while heart-vm outputs up to +40 (peaks of +39.5 on real ECGs were
    clipped to the top colour)."""
    from cardiacml.datasets.intracardiac import VM_RANGE_MV
    from cardiacml.models.registry import get_spec, list_models

    for name in list_models():
        bounds = (get_spec(name).defaults or {}).get("task4", {}).get("bounds")
        if bounds is not None:
            assert VM_RANGE_MV[0] <= bounds[0] and VM_RANGE_MV[1] >= bounds[1], name


def test_vtu_takes_site_values_and_refuses_other_shapes(geo, tmp_path):
    """export_vtu with the 75 site values a model predicts gave meshio's "len(points) = 8033, but len(point_data) =
    75"; they are now Shepard-interpolated as the pages do, and any other shape is one line naming the field."""
    import meshio

    from cardiacml.errors import DataFormatError

    sites = geo.site_xyz[:, 0]
    p = export_vtu({"activation_ms": sites}, tmp_path / "sites.vtu", geo)
    np.testing.assert_allclose(meshio.read(p).point_data["activation_ms"], shepard_interpolate(sites, geo))
    with pytest.raises(DataFormatError, match=r"field 'bad' has shape \(74,\)"):
        export_vtu({"bad": sites[:74]}, tmp_path / "bad.vtu", geo)
    assert not (tmp_path / "bad.vtu").exists()


def test_vm_heart_caption_says_activation_is_derived_from_vm(tmp_path, monkeypatch):
    """Task 4's static activation map is derived from Vm (-40 mV upstroke): its caption said so only on the scatter."""
    import json
    from pathlib import Path
    from types import SimpleNamespace

    from cardiacml.viz import figures

    monkeypatch.setattr("cardiacml.viz.heart.render_comparison", lambda a, b, path: Path(path).write_bytes(b"png"))
    fig_dir = tmp_path / "figures"
    fig_dir.mkdir()
    data = SimpleNamespace(X_test=np.zeros((1, 12, 500), np.float32), contract=SimpleNamespace(units="normalised"))
    act = np.linspace(0, 80, 75)[None]
    figures._ecg_and_heart(fig_dir, data, act, act + 1, [], "activation = Vm crossing -40 mV upward")
    assert not (fig_dir / "heart_render_error.txt").exists()
    caps = json.loads((fig_dir / "captions.json").read_text())
    assert "Vm crossing -40 mV" in caps["heart_activation_true_vs_pred.png"], caps
