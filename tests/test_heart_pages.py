"""Heart pages state what they are (issue 24): model, input, window, training domain, unfamiliar-input score, and
one activation definition per output, the same in the CSV, the page and the model card."""

import re

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()


def _text(path):
    return re.sub(r"<[^>]+>", "", path.read_text())


def test_predicted_heart_pages_name_model_input_window_domain_and_definition(tmp_path, shared):
    rec = shared / "wfdb_samples" / "s0010_re"
    for model, thr in (("heart-act", "0 mV"), ("heart-vm", "-40 mV")):
        page, csv = tmp_path / f"{model}.html", tmp_path / f"{model}.csv"
        res = runner.invoke(app, ["predict", model, str(rec), "--out", str(csv), "--html", str(page), "--threads", "1"])
        assert res.exit_code == 0, res.output
        text = _text(page)
        assert f"Model: {model}" in text and "trained on simulated hearts only" in text
        assert f"Input: {rec}" in text and re.search(r"Window: beat \d+ of \d+, 500 ms from [\d.]+ s", text)
        assert "window version" in text and "Unfamiliar-input score" in text
        assert f"first time Vm rises above {thr}" in text
        other = "-40 mV" if thr == "0 mV" else "rises above 0 mV"
        assert other not in text, f"{model}: a second activation definition on the page"
        df = pd.read_csv(csv)
        csv_rule = "Vm > 0 mV" if thr == "0 mV" else "first upward crossing of -40 mV"  # heart-vm's rows (0.4.18)
        assert df["activation_definition"].str.contains(csv_rule).all()


def test_unfamiliarity_is_shown_when_the_model_has_it(tmp_path):
    from cardiacml.viz.html.heart import prediction_heart_page

    unf = {"score": np.array([12.5]), "percentile": np.array([99.6]), "unfamiliar": np.array([True]), "threshold": 9.0}
    page = prediction_heart_page(tmp_path / "p.html", np.zeros((1, 12, 500)), np.full((1, 75), 40.0), model="m",
                                 source="x.csv", unfamiliarity=unf, window_version=2)
    text = _text(page)
    assert "Unfamiliar-input score: 12.5 (threshold 9.0" in text and "UNFAMILIAR" in text


def test_activation_derived_from_vm_uses_the_csv_definition_on_the_map(tmp_path):
    """A smooth predicted Vm whose plateau stays below 0 mV still activates (-40 mV), on the page as in the CSV."""
    from cardiacml.datasets.intracardiac import UPSTROKE_THRESHOLD_MV, activation_times
    from cardiacml.viz.html.heart import heart_sections

    t = np.arange(500)
    vm = np.where(t[None, :] >= 100 + np.arange(75)[:, None], -10.0, -85.0)  # peaks at -10 mV: never above 0 mV
    assert np.isfinite(activation_times(vm, UPSTROKE_THRESHOLD_MV, time_axis=-1)).all()
    html = "".join(heart_sections(vm_pred=vm))
    assert "no site activates" not in html and "-40 mV" in html


def test_model_cards_name_the_activation_definition():
    from cardiacml.tasks import get_task

    assert "above 0 mV" in get_task("task3").intended_use
    assert "above -40 mV" in get_task("task4").intended_use


def test_true_and_predicted_hearts_are_seen_from_the_same_direction():
    """One scene, orthographic camera: the same region sits in the same place on both copies (issue 24 item 5)."""
    from cardiacml.viz.html.heart import _Surface, activation_figure, vm_figure

    surface = _Surface()
    act = np.linspace(10, 80, 75)
    vm = np.where(np.arange(500)[None, :] >= act[:, None], 20.0, -85.0)
    for fig in (activation_figure(surface, act, act + 1), vm_figure(surface, vm, vm, step_ms=100)):
        scenes = {t.scene for t in fig.data}
        assert scenes == {"scene"}, "true and predicted share one scene (one camera)"
        assert fig.layout.scene.camera.projection.type == "orthographic"


def test_twelve_lead_viewer_gives_each_lead_its_own_range_with_few_labels():
    from cardiacml.viz.html.heart import ecg_figure, lead_range

    ecg = np.zeros((12, 500))
    ecg[1] = np.sin(np.linspace(0, 6, 500)) * 0.8  # II: +-0.8 mV
    ecg[7] = np.linspace(-8, 2.5, 500)  # V2: -8..2.5 mV, the range that crowded every panel before
    fig = ecg_figure(ecg)
    ranges = {}
    for tr in fig.data:
        ax = fig.layout["yaxis" + tr.yaxis[1:]]
        ranges[tr.name] = (ax.range, ax.dtick)
        assert ax.range[0] <= np.min(tr.y) and ax.range[1] >= np.max(tr.y), f"{tr.name} clipped"
        assert (ax.range[1] - ax.range[0]) / ax.dtick <= 7, f"{tr.name}: too many tick labels"
    assert ranges["II"][0][1] - ranges["II"][0][0] < 3 and ranges["II"][1] == 0.5
    assert ranges["V2"][0][0] < -8 and ranges["V2"][1] >= 2
    assert lead_range(np.array([np.nan]))[2] == 0.5


def test_static_calibrated_ecg_draws_every_trace_inside_the_figure():
    import matplotlib

    matplotlib.use("Agg")
    from cardiacml.viz.plots import plot_ecg12

    ecg = np.zeros((12, 500))
    ecg[8] = np.concatenate([np.linspace(0, -8, 250), np.linspace(-8, 2.5, 250)])  # V3 (bottom row) reaches -8 mV
    ecg[0] = np.sin(np.linspace(0, 6, 500)) * 0.5
    fig = plot_ecg12(ecg)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    traces = [ln for ln in ax.get_lines() if len(ln.get_ydata()) == 500]
    assert len(traces) == 12
    for ln in traces:
        y = np.asarray(ln.get_ydata())
        assert lo <= y.min() and y.max() <= hi, "a trace runs out of the figure"


def test_report_figures_are_captioned_by_what_they_show_and_pairs_are_wide(tmp_path):
    from cardiacml.report import _img
    from cardiacml.viz.figures import caption_figure
    from cardiacml.viz.heart import bar_fonts

    gif = tmp_path / "vm_true_vs_predicted.gif"
    gif.write_bytes(b"GIF89a")
    caption_figure(gif, "Vm of the first test heart over time")
    import json

    assert json.loads((tmp_path / "captions.json").read_text())[gif.name] == "Vm of the first test heart over time"
    fig = _img(gif)
    assert "vm true vs predicted" not in fig and "class='wide'" in fig  # no file name as a caption
    assert bar_fonts((600, 500))["label_font_size"] >= 16 and bar_fonts((1200, 1000))["label_font_size"] > 40


def test_activation_colour_bar_spans_every_site_value_the_page_shows():
    """The colour bar ran over the surface's interpolated values only: heart-act on E07509 showed a 19-103 ms bar
    beside sites (hover, CSV) at 15.9 ms (a septal site inside the wall) and 112.3 ms."""
    from cardiacml.viz.html.heart import _Surface, activation_figure

    surface = _Surface()
    names = list(surface.g.site_names)
    act = np.full(75, 50.0)
    act[names.index("SEPTM_AHA08_RV10")] = 5.0  # intramural: no surface vertex carries it
    act[names.index("MID_AHA11")] = 140.0
    for fig, latest in ((activation_figure(surface, None, act), 140.0), (activation_figure(surface, act, act + 3), 143.0)):
        c = fig.layout.coloraxis
        assert c.cmin <= 5.0 and c.cmax >= latest, (c.cmin, c.cmax)


def _site_hover(trace, k: int) -> str:
    """The hover text plotly shows for site ``k`` of a sites trace (its template's fields filled as d3 would)."""
    cd = trace.customdata[k]

    def field(m):
        name, fmt = m.group(1), m.group(2)
        if name == "text":
            return str(trace.text[k])
        if name == "meta":
            return str(trace.meta)
        v = cd[int(re.fullmatch(r"customdata\[(\d+)\]", name).group(1))]
        return format(float(v), fmt[1:]).replace("nan", "NaN") if fmt else str(v)

    return re.sub(r"<[^>]+>", " ", re.sub(r"%\{([^}:]+)(:[^}]*)?\}", field, trace.hovertemplate))


def test_a_site_that_never_activates_reads_not_activated_in_the_hover():
    """A never-activated site (NaN) showed "NaN ms" in the hover, in its own map and as the other map's value."""
    from cardiacml.viz.html.heart import _Surface, activation_figure

    surface = _Surface()
    act = np.linspace(10, 80, 75)
    pred = act + 2
    act[3] = np.nan
    fig = activation_figure(surface, act, pred)
    sites = [t for t in fig.data if t.type == "scatter3d"]
    shown = [_site_hover(t, 3) for t in sites]
    assert all("not activated" in s and "NaN" not in s for s in shown), shown
    assert f"predicted: {pred[2]:.1f} ms" in _site_hover(sites[1], 2)  # an activated site: its value, as before
    c = fig.layout.coloraxis
    assert np.isfinite([c.cmin, c.cmax]).all()
