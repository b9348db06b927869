"""``cardiacml report RUN_DIR``: one self-contained HTML page of a run (images embedded as base64).

An application over a run folder (or a pretrained model's checkpoint and card): it reads the run
through :mod:`cardiacml.training.checkpoint`, asks the task's spec for its card, and draws with
:mod:`cardiacml.viz` (the page shell and interactive views of :mod:`cardiacml.viz.html`). It sits
above both, next to :mod:`cardiacml.inference`.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np


def _captions(folder: Path) -> dict:
    f = folder / "captions.json"
    try:
        return json.loads(f.read_text()) if f.is_file() else {}
    except ValueError:
        return {}


def _read_json(path: Path, what: str = "object", again: str = "re-create the run with `cardiacml train`"):
    """A JSON file of a run folder, or a one-line DataFormatError naming it (and ``again``: how to remake it)."""
    from .errors import DataFormatError

    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc}); {again}") from None
    if not isinstance(obj, dict):
        raise DataFormatError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


#: what run.json must hold (name -> accepted types); anything else is shown as given
_META_TYPES = {"task": (str,), "kind": (str,), "model": (str,), "n_parameters": (int,), "cardiacml_version": (str,),
               "train_time_s": (int, float, type(None))}


def _check_meta(meta: dict, path) -> dict:
    from .errors import DataFormatError

    for key, types in _META_TYPES.items():
        v = meta.get(key)
        if key not in meta and type(None) not in types:
            raise DataFormatError(f"{path}: missing {key!r}; re-create the run with `cardiacml train`")
        if isinstance(v, bool) or not isinstance(v, types):
            raise DataFormatError(f"{path}: {key!r} should be {' or '.join(t.__name__ for t in types)}, got {v!r}")
    for key in ("data", "config", "data_args", "card", "hparams"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise DataFormatError(f"{path}: {key!r} should be an object, got {type(meta[key]).__name__}")
    return meta


def _inside(path: Path, folder: Path) -> bool:
    """True if ``path`` is a regular file reached without leaving ``folder`` (no symlink out of the run)."""
    try:
        return path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _img(path: Path, caption: str | None = None) -> str:
    b64 = base64.b64encode(path.read_bytes()).decode()
    mime = "gif" if path.suffix == ".gif" else "png"
    cap = caption or "Figure without a recorded caption."
    wide = " class='wide'" if "true_vs" in path.stem else ""  # side-by-side pairs at full width: readable colour bar
    return (f'<figure{wide}><img src="data:image/{mime};base64,{b64}" alt="{html.escape(cap)}">'
            f'<figcaption>{html.escape(cap)}</figcaption></figure>')


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _table(rows, header) -> str:
    from .viz.html.page import table

    return table(rows, header, fmt=_fmt)


def _strip_build_paths(text: str) -> str:
    """Absolute paths (of the machine a pretrained model was built on) reduced to their last part."""
    import re

    return re.sub(r"(?<![\w.:/])/(?:[^\s/\"',()]+/)+([^\s/\"',()]+)", r"\1", text)


def _config_rows(meta: dict, prefix: str = "") -> list[list[str]]:
    """The run's settings as (name, value) rows: nested settings flattened with dots, lists and values compact."""
    rows = []
    for k, v in meta.items():
        if k == "card":  # already in the model card
            continue
        if isinstance(v, dict) and v and len(v) <= 30:
            rows += _config_rows(v, f"{prefix}{k}.")
        else:
            rows.append([f"{prefix}{k}", v if isinstance(v, (int, float, str)) and not isinstance(v, bool)
                         else json.dumps(v, default=str)])
    return rows


def _unfamiliar_rows(m: dict) -> list:
    """The share of test inputs a heart model's unfamiliar-input warning flags (training prints it), when recorded."""
    u = m.get("unfamiliar_rate")
    return [["test inputs flagged unfamiliar (far from the training data)", f"{100 * u:.1f} %"]] \
        if isinstance(u, (int, float)) and not isinstance(u, bool) else []


def _metric_tables(kind: str, m: dict) -> str:
    if kind == "classification":
        rows = [["n", m["n"]], ["accuracy", m["accuracy"]], ["macro-F1", m["macro_f1"]]]
        if m.get("macro_f1_left_out"):  # classes with no example and no prediction: no F1, not averaged
            rows.append(["left out of the macro-F1 (no example, none predicted)", ", ".join(m["macro_f1_left_out"])])
        top = _table(rows, ["metric", "value"])
        per = _table([[c, v["precision"], v["recall"], v["f1"], v["support"]] for c, v in m["per_class"].items()],
                     ["class", "precision (+P)", "recall (Se)", "F1", "support"])
        return top + "<h3>Per class</h3>" + per
    if kind == "regression":
        top = _table([["n", m["n"]], ["MAE (ms)", m["mae_ms"]], ["RMSE (ms)", m["rmse_ms"]],
                      ["constant-mean baseline MAE (ms)", m.get("constant_baseline_mae_ms", float("nan"))],
                      ["std of true activation times (ms)", m["target_std_ms"]]] + _unfamiliar_rows(m), ["metric", "value"])
        return top + "<h3>Per region</h3>" + _table(list(m["per_region_mae_ms"].items()), ["region", "MAE (ms)"])
    rows = [["n", m["n"]], ["RMSE (mV)", m["rmse_mv"]], ["relative error", m["relative_error"]],
            ["mean per-site Pearson r", m["pearson_r_mean"]], ["worst site r", m["pearson_r_min_site"]],
            [f"activation MAE from predicted Vm (ms; upstroke crossing {m.get('activation_threshold_mv', 0):g} mV)",
             m["activation_mae_ms_from_vm"]],
            ["sites the prediction never activates",
             f"{m.get('activation_missed', '?')} of {m.get('activation_sites_total', '?')} the true Vm activates"]]
    if "below_rest_fraction" in m:
        rows += [["share of predicted samples below -90 mV", m["below_rest_fraction"]],
                 ["total variation, predicted / true (median; 1 = as smooth as the truth)", m["plateau_tv_ratio"]]]
    return _table(rows + _unfamiliar_rows(m), ["metric", "value"])


def _settings(meta: dict) -> str:
    c = meta.get("config") or {}
    d = meta.get("data_args") or {}
    hist = f"{meta.get('best_epoch')} (best) of at most {c.get('epochs')}"
    parts = [f"epochs {hist}", f"batch {c.get('batch_size')}", f"lr {c.get('lr')}", f"seed {c.get('seed')}"]
    if d.get("max_train"):
        parts.append(f"training data capped at {d['max_train']} examples")
    if d.get("max_eval"):
        parts.append(f"validation/test capped at {d['max_eval']} examples")
    return ", ".join(str(p) for p in parts)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (model card, data, metrics, figures, configuration); returns its path."""
    from .errors import DataFormatError, MissingDataError
    from .tasks import get_task

    run = Path(run_dir)
    if run.is_file() and run.name == "model.pt" and (run.parent / "run.json").is_file():  # as evaluate / export take it
        run = run.parent
    if out is not None and Path(out).suffix.lower() not in (".html", ".htm"):
        from .errors import UsageError

        raise UsageError(f"--out {out}: the report is an HTML page; give a .html name (or a folder)")
    ev = run / "eval"  # where `cardiacml evaluate` wrote (training.run.default_eval_dir)
    if not (run / "run.json").is_file():
        from .pretrained import is_pretrained

        if run.exists() and not is_pretrained(str(run_dir)):  # a folder of a shipped model's name hides it only
            # when it holds a checkpoint (pretrained.is_pretrained)
            raise MissingDataError(f"{run}: not a run folder (no run.json); train one with `cardiacml train`")
        from .training.checkpoint import load_run  # a pretrained model's name: its card and measured figures

        try:
            _, record = load_run(str(run_dir))
        except MissingDataError as exc:
            raise MissingDataError(f"{run}: not a run folder (no run.json) nor a pretrained model ({exc})") from None
        meta, metrics = record.meta(), record.metrics
        meta = json.loads(_strip_build_paths(json.dumps(meta, default=str)))  # no path of the machine it was built on
        out = out or Path(f"{run.name}-report.html")
        from .training.run import default_eval_dir

        ev = default_eval_dir(record)
    else:
        meta = _check_meta(_read_json(run / "run.json"), run / "run.json")
        if not (run / "metrics.json").is_file():
            raise MissingDataError(f"{run / 'metrics.json'}: missing; re-create the run with `cardiacml train`")
        metrics = _read_json(run / "metrics.json")
    if not isinstance(metrics.get("test"), dict):
        raise DataFormatError(f"{run / 'metrics.json'}: no test metrics ('test' object); re-create the run")
    evals = {}
    if _inside(ev / "metrics.json", ev):
        evals = _read_json(ev / "metrics.json", again=f"run `cardiacml evaluate {run_dir}` again (it rewrites {ev})")
    task, kind = meta["task"], meta["kind"]
    spec = get_task(task)
    data = meta.get("data") or {}
    if not isinstance(data, dict):
        raise DataFormatError(f"{run}: 'data' of the run should be an object, got {type(data).__name__}")
    protocol = data.get("protocol", "?")
    note = data.get("note") or ""
    card = [["intended use", spec.intended_use],
            ["model", f"{meta['model']} ({meta['n_parameters']:,} parameters), options {meta.get('hparams')}"],
            ["training data", data.get("source", "")]]
    if note:
        card.append(["what this model is", note])
    extra_card = dict(meta.get("card") or {})
    if extra_card:
        from .pretrained import card_headline

        extra_card["headline"] = card_headline(extra_card)
    for key, label in (("protocol", "pretrained on"), ("headline", "measured"), ("limits", "limits of the training data"),
                       ("retrain", "retrain with")):
        if extra_card.get(key):
            card.append([label, str(extra_card[key])])
    card += [["evaluation protocol", protocol], ["limits", spec.limits.get(protocol, "")],
             ["training settings", _settings(meta)],
             ["trained", (f"{meta['train_time_s']:.0f} s" if meta.get("train_time_s") is not None else "time unknown")
              + f", cardiacml {meta['cardiacml_version']}"]]
    try:
        return _write_report(run, out, meta, metrics, evals, task, kind, spec, card, data, protocol, note, ev)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(f"{run}: run.json / metrics.json hold malformed values ({type(exc).__name__}: {exc}); "
                              "re-create the run with `cardiacml train`") from None


def _write_report(run, out, meta, metrics, evals, task, kind, spec, card, data, protocol, note, ev=None) -> Path:
    ev = run / "eval" if ev is None else ev  # the evaluation folder (``./eval-NAME`` for a pretrained model)
    from .utils import atomic_path, check_output

    parts = [f"<h1>cardiacml run: {html.escape(task)} ({html.escape(spec.title)}) / {html.escape(meta['model'])}</h1>"]
    if note:
        parts.append(f"<p class='note'><b>Note:</b> {html.escape(note)}</p>")
    parts += ["<h2>Model card</h2>", _table(card, ["field", "value"]),
              f"<h2>Test metrics ({html.escape(protocol)} split)</h2>", _metric_tables(kind, metrics["test"])]
    if evals:
        parts += [f"<h2>Evaluation: {html.escape(evals.get('protocol', ''))} split of {html.escape(evals.get('data', ''))}</h2>",
                  _metric_tables(kind, evals)]
    inter = _interactive_sections(run, kind, metrics["test"], meta.get("contract") or {})
    n_static = len(parts)
    if inter:
        parts += ["<div class='cm-interactive'><h2>Interactive views</h2><p class='note'>Drawn with plotly, embedded in this "
                  "file (works offline). Hidden when printed: the static figures below are the print version.</p>"
                  + "".join(inter) + "</div>"]
    figs = []
    for folder, root in ((run / "figures", run), (ev / "figures", ev)):
        caps = _captions(folder)
        for f in sorted(folder.glob("*.png")) + sorted(folder.glob("*.gif")):
            if _inside(f, root):  # never embed a file reached through a symlink (it may leave the run folder)
                figs.append(_img(f, str(caps.get(f.name) or "") or None))
    parts.append("<h2>Figures</h2>")
    parts += figs or [f"<p>No static figures: {'a pretrained model ships without them' if not (run / 'run.json').is_file() else 'this run has none'}"
                      f". <code>cardiacml evaluate {html.escape(str(run))}</code> draws them on its test split.</p>"]
    parts += ["<h2>Configuration</h2>", _table(_config_rows(meta), ["setting", "value"])]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f0f0f0}"
             "figure{display:inline-block;margin:6px;max-width:540px;vertical-align:top}"
             "figcaption{font-size:.85em;color:#444}img{max-width:520px}figure.wide{max-width:1080px}figure.wide img{max-width:1060px}pre{background:#f6f6f6;padding:8px;overflow:auto}"
             ".note{background:#fff4d6;border-left:4px solid #e0a800;padding:6px 10px}")
    head = ""
    path = check_output(Path(out) if out else run / "report.html", [run / "run.json", run / "metrics.json",
                                                                      run / "model.pt"], what="--out")
    if inter:
        from .viz.html.page import PAGE_BUDGET, SECTION_CSS, page_scripts, write_page

        style += SECTION_CSS
        head = page_scripts()
        size = sum(len(p) for p in parts) + len(head) + len(style)
        if size > PAGE_BUDGET:  # too big for one page (many or large static figures): interactive views beside it
            side = path.with_name(path.stem + "_interactive.html")
            write_page(side, f"cardiacml run: {task} / {meta['model']} (interactive views)", inter)
            parts[n_static] = (f"<h2>Interactive views</h2><p>In <a href='{html.escape(side.name)}'>{html.escape(side.name)}</a> "
                               f"(one page would exceed {PAGE_BUDGET / 1e6:.0f} MB).</p>")
            head = ""
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>cardiacml {html.escape(task)}</title><style>{style}</style>{head}"
            f"</head><body>{''.join(parts)}</body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def _interactive_sections(run: Path, kind: str, test_metrics: dict, contract: dict | None = None) -> list[str]:
    """Interactive views from RUN/examples.npz; [] when plotly or the file is absent."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return []
    return report_sections(run, kind, test_metrics, contract=contract)


def report_sections(run_dir: str | Path, kind: str, metrics: dict, *, contract: dict | None = None) -> list[str]:
    """Interactive sections of a run's report from ``RUN/examples.npz`` (empty list when it is absent).

    ``kind`` is the run's kind ("classification", "regression" = Task 3, else Task 4); ``metrics``
    the test metrics (``confusion_matrix`` and ``classes`` for classification); ``contract``: the run's input
    contract (``run.json``'s ``contract``): the beat window of a beat-rhythm row, the unit of the ECG windows
    ("normalised" for window version 2).
    """
    contract = contract or {}
    ecg_units = contract.get("units") or "mV"
    from .training.checkpoint import load_examples
    from .viz.html.beats import beat_run_sections
    from .viz.html.heart import heart_sections

    ex = load_examples(run_dir)
    if ex is None:  # runs made before examples.npz existed: the static report only
        return []
    if kind == "classification":
        if "confusion_matrix" not in metrics:
            return []
        return beat_run_sections(confusion=metrics["confusion_matrix"], class_names=metrics["classes"],
                                 examples_X=ex["X"], examples_true=ex["y_true"], examples_prob=ex["y_pred"],
                                 contract=contract)  # (metrics: in the report)
    X, yt, yp = ex["X"], ex["y_true"], ex["y_pred"]
    if kind == "regression":
        err = np.nanmean(np.abs(yt - yp), axis=1)
        i = int(np.argsort(err)[len(err) // 2])
        cap = (f" Test heart #{int(ex.get('index', np.arange(len(X)))[i])}: the median-error one of the {len(X)} "
               f"examples kept (MAE {err[i]:.2f} ms).")
        return heart_sections(act_true=yt[i], act_pred=yp[i], ecg=X[i], caption=cap, ecg_units=ecg_units)
    err = np.sqrt(np.mean((yt - yp) ** 2, axis=(1, 2)))
    i = int(np.argsort(err)[len(err) // 2])
    cap = (f" Test heart #{int(ex.get('index', np.arange(len(X)))[i])}: the median-error one of the {len(X)} examples "
           f"kept (Vm RMSE {err[i]:.2f} mV).")
    return heart_sections(vm_true=yt[i], vm_pred=yp[i], ecg=X[i], caption=cap, ecg_units=ecg_units)
