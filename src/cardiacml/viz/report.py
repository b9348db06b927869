"""``cardiacml report RUN_DIR``: one self-contained HTML page (images embedded as base64)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

INTENDED = {
    "task1": "Research and teaching: flag single heartbeats as normal or abnormal. Not a medical device.",
    "task2": "Research and teaching: classify single heartbeats into AAMI classes N/S/V/F/Q. Not a medical device.",
    "task3": "Research: estimate activation times at 75 heart sites from a 12-lead ECG, on simulated hearts.",
    "task4": "Research: estimate transmembrane potentials at 75 sites over 500 ms from a 12-lead ECG, on simulated hearts.",
}
LIMITS = {
    "random": "Beat-level random split: beats of the same patient are in both training and test sets, so these "
              "figures overstate performance on new patients (see the inter-patient protocol).",
    "kaggle": "Kaggle split: a random beat-level split, beats of one patient are on both sides; figures overstate "
              "performance on new patients.",
    "interpatient": "Inter-patient split (de Chazal DS1 -> DS2): test patients are unseen; this is the clinically honest figure.",
    "stimulus": "Held out by primary stimulus site, on simulator data: performance on the real LLNL dataset or on "
                "patients is not measured here.",
}


def _img(path: Path) -> str:
    b64 = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img src="data:image/png;base64,{b64}" alt="{html.escape(path.stem)}"><figcaption>{html.escape(path.stem)}</figcaption></figure>'


def _table(rows, header) -> str:
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _metric_tables(kind: str, m: dict) -> str:
    if kind == "classification":
        top = _table([["n", m["n"]], ["accuracy", m["accuracy"]], ["macro-F1", m["macro_f1"]]], ["metric", "value"])
        per = _table([[c, v["precision"], v["recall"], v["f1"], v["support"]] for c, v in m["per_class"].items()],
                     ["class", "precision", "recall", "F1", "support"])
        return top + "<h3>Per class</h3>" + per
    if kind == "regression":
        top = _table([["n", m["n"]], ["MAE (ms)", m["mae_ms"]], ["RMSE (ms)", m["rmse_ms"]],
                      ["constant-mean baseline MAE (ms)", m.get("constant_baseline_mae_ms", float("nan"))],
                      ["std of true activation times (ms)", m["target_std_ms"]]], ["metric", "value"])
        return top + "<h3>Per region</h3>" + _table(list(m["per_region_mae_ms"].items()), ["region", "MAE (ms)"])
    return _table([["n", m["n"]], ["RMSE (mV)", m["rmse_mv"]], ["relative error", m["relative_error"]],
                   ["mean per-site Pearson r", m["pearson_r_mean"]], ["worst site r", m["pearson_r_min_site"]],
                   ["activation MAE from predicted Vm (ms)", m["activation_mae_ms_from_vm"]]], ["metric", "value"])


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (config, data, metrics, figures, model card); returns its path."""
    from ..errors import MissingDataError

    run = Path(run_dir)
    if not (run / "run.json").is_file():
        raise MissingDataError(f"{run}: not a run folder (no run.json); train one with `cardiacml train`")
    meta = json.loads((run / "run.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    evals = {}
    if (run / "eval" / "metrics.json").is_file():
        evals = json.loads((run / "eval" / "metrics.json").read_text())
    task, kind = meta["task"], meta["kind"]
    protocol = (meta.get("data") or {}).get("protocol", "?")
    figs = sorted((run / "figures").glob("*.png")) + sorted((run / "eval" / "figures").glob("*.png"))
    gifs = sorted(run.glob("figures/*.gif"))
    parts = [
        f"<h1>cardiacml run: {html.escape(task)} / {html.escape(meta['model'])}</h1>",
        "<h2>Model card</h2>",
        _table([["intended use", INTENDED.get(task, "")],
                ["model", f"{meta['model']} ({meta['n_parameters']} parameters), options {meta.get('hparams')}"],
                ["training data", (meta.get("data") or {}).get("source", "")],
                ["evaluation protocol", protocol],
                ["limits", LIMITS.get(protocol, "")],
                ["trained", f"best epoch {meta['best_epoch']}, {meta['train_time_s']:.0f} s, cardiacml {meta['cardiacml_version']}"]],
               ["", ""]),
        f"<h2>Test metrics ({html.escape(protocol)} split)</h2>", _metric_tables(kind, metrics["test"]),
    ]
    if evals:
        parts += [f"<h2>Evaluation: {html.escape(evals.get('protocol', ''))} split of {html.escape(evals.get('data', ''))}</h2>",
                  _metric_tables(kind, evals)]
    inter = _interactive_sections(run, kind, metrics["test"])
    n_static = len(parts)
    if inter:
        parts += ["<div class='cm-interactive'><h2>Interactive views</h2><p class='note'>Drawn with plotly, embedded in this "
                  "file (works offline). Hidden when printed: the static figures below are the print version.</p>"
                  + "".join(inter) + "</div>"]
    parts += ["<h2>Figures</h2>"] + [_img(f) for f in figs]
    for g in gifs:
        b64 = base64.b64encode(g.read_bytes()).decode()
        parts.append(f'<figure><img src="data:image/gif;base64,{b64}" alt="{g.stem}"><figcaption>{g.stem}</figcaption></figure>')
    parts += ["<h2>Configuration</h2>", f"<pre>{html.escape(json.dumps(meta, indent=1, default=str))}</pre>"]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}figure{display:inline-block;margin:6px}"
             "img{max-width:520px}pre{background:#f6f6f6;padding:8px;overflow:auto}")
    head = ""
    path = Path(out) if out else run / "report.html"
    if inter:
        from .interactive import PAGE_BUDGET, SECTION_CSS, _write_page, page_scripts

        style += SECTION_CSS
        head = page_scripts()
        size = sum(len(p) for p in parts) + len(head) + len(style)
        if size > PAGE_BUDGET:  # too big for one page (many or large static figures): interactive views beside it
            side = path.with_name(path.stem + "_interactive.html")
            _write_page(side, f"cardiacml run: {task} / {meta['model']} (interactive views)", inter)
            parts[n_static] = (f"<h2>Interactive views</h2><p>In <a href='{html.escape(side.name)}'>{html.escape(side.name)}</a> "
                               f"(one page would exceed {PAGE_BUDGET / 1e6:.0f} MB).</p>")
            head = ""
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>cardiacml {task}</title><style>{style}</style>{head}"
            f"</head><body>{''.join(parts)}</body></html>")
    from ..utils import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def _interactive_sections(run: Path, kind: str, test_metrics: dict) -> list[str]:
    """Interactive views (cardiacml.viz.interactive) from RUN/examples.npz; [] when plotly or the file is absent."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return []
    from .interactive import report_sections

    return report_sections(run, kind, test_metrics)
