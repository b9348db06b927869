"""Interactive pages: size and load time in headless Chromium. Prints figures; asserts nothing.

Goal (issue 13): each page <= 10 MB and loads in < 3 s in headless Chromium on 2 cores.
Pages: MIT-BIH record 100 (30 min, 360 Hz) and the same tiled to 24 h, the heart page (true vs
predicted activation + Vm + 12-lead ECG), the prediction-only heart page, a beat-run page. The
predictions are synthetic (the pages are measured, not a model).

Times come from inside the page (performance.now(), from navigation start): "plotly.js" when the
inline library is parsed, "first view" when the first figure is drawn (the page is usable), "all"
when every figure is drawn (figures further down draw one after another, the next one first when
scrolled to); on the record pages "strip ready" when the strip shows its trace at the right level of detail and
its beat markers (both unpacked by the page's script after the first draw; polled every 20 ms). WebGL is software (SwiftShader) here: no GPU. Each page is opened REPEAT times in one
browser; the median is printed with the machine's load average, since other jobs on the same cores
slow the browser down.

Usage: python benchmarks/bench_pages.py [REPEAT]
"""

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CARDIACML_SHARED", REPO.parent / "shared" / "data"))


def build(d: Path) -> dict:
    from cardiacml.contracts.ecg12 import leads_from_electrodes
    from cardiacml.datasets.intracardiac import activation_times
    from cardiacml.datasets.mitbih import read_record_beats
    from cardiacml.ecg.pipeline import beat_annotations
    from cardiacml.io import open_record
    from cardiacml.simulate.simulator import HeartModel, simulate_one
    from cardiacml.viz.html import beats as hb, heart as hh, record as hr

    rng = np.random.default_rng(0)
    rec = open_record(SHARED / "mitdb" / "100")
    samples, lab = beat_annotations(rec)
    t = samples / rec.fs
    logits = rng.normal(size=(len(lab), 5))
    logits[np.arange(len(lab)), lab] += 4
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    sig = rec.read(lead=0)
    pages = {"record 30 min": hr.record_page(sig, rec.fs, t, prob.argmax(1), prob, list("NSVFQ"), d / "record.html",
                                             lead_name="MLII", reference=lab)}
    reps = 48
    pages["record 24 h"] = hr.record_page(np.tile(sig, reps), rec.fs, (t[None] + np.arange(reps)[:, None] * len(sig) / rec.fs).ravel(),
                                          np.tile(prob.argmax(1), reps), np.tile(prob, (reps, 1)), list("NSVFQ"), d / "holter.html",
                                          lead_name="MLII")
    model = HeartModel()
    (e1, v1, _), (e2, v2, _) = simulate_one(model, 7, 0), simulate_one(model, 7, 1)
    vm, vp = v1.T, np.roll(v1.T, 6, axis=1)
    pages["heart true vs predicted"] = hh.heart_page(d / "heart.html", act_true=activation_times(vm, time_axis=-1),
                                                     act_pred=activation_times(vp, time_axis=-1), vm_true=vm, vm_pred=vp,
                                                     ecg=leads_from_electrodes(e1))
    pages["heart prediction only"] = hh.prediction_heart_page(d / "pred.html", leads_from_electrodes(e2)[None], v2.T[None])
    beats = read_record_beats(SHARED / "mitdb" / "208")
    pick = np.concatenate([np.flatnonzero(beats.y == k)[:4] for k in range(5)])
    bp = rng.dirichlet(np.ones(5), len(pick))
    cm = np.array([[900, 3, 5, 2, 0], [10, 80, 2, 0, 0], [4, 1, 300, 6, 0], [3, 0, 9, 40, 0], [1, 0, 0, 0, 7]])
    pages["beat run"] = hb.beat_run_page(d / "beats.html", confusion=cm, class_names=list("NSVFQ"), examples_X=beats.X[pick],
                                         examples_true=beats.y[pick], examples_prob=bp, metrics={"accuracy": 0.96})
    return pages


#: performance.now() (ms) once a record page's strip has its trace at the right level and its beat markers (the
#: script's first update; they are unpacked after the figure is first drawn), -1 before, null on other pages.
STRIP_READY = ("var gd = document.getElementById('record-strip'); "
               "return gd ? (+gd.dataset.lodUpdates > 0 ? performance.now() : -1) : null;")


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1300,1000",
              "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"):
        opts.add_argument(a)
    binary = shutil.which("chromium") or shutil.which("google-chrome")
    opts.binary_location = binary
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pages = build(Path(tmp))
        print(f"pages built in {time.perf_counter() - t0:.1f} s")
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, headless Chromium (SwiftShader WebGL); "
              f"cold = first open in a fresh browser, warm = median of {repeat - 1} more opens (plotly.js compiled code cached)")
        print(f"{'page':<26}{'MB':>6}{'':>3}{'plotly.js s':>12}{'first view s':>14}{'all drawn s':>13}{'figures':>9}"
              f"{'strip ready s':>15}  load avg")
        for name, path in pages.items():
            driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
            rows = []
            for _ in range(repeat):
                driver.get(path.as_uri())
                n = driver.execute_script("return document.querySelectorAll('.plotly-graph-div').length")
                deadline = time.time() + 60
                while driver.execute_script("return window.cardiacmlReady || 0") < n and time.time() < deadline:
                    time.sleep(0.05)
                times = dict(driver.execute_script("return window.cardiacmlTimes"))
                drawn = [v for k, v in times.items() if k != "plotly.js"]
                strip = driver.execute_script(STRIP_READY)
                while strip == -1 and time.time() < deadline:  # a record page: its packed trace and markers unpacked
                    time.sleep(0.02)
                    strip = driver.execute_script(STRIP_READY)
                rows.append((times["plotly.js"] / 1000, min(drawn) / 1000, max(drawn) / 1000,
                             strip / 1000 if strip is not None else np.nan))
            driver.quit()
            size = f"{path.stat().st_size / 1e6:.2f}"
            for label, r in (("cold", rows[0]), ("warm", np.median(np.array(rows[1:] or rows), axis=0))):
                first = label == "cold"
                print(f"{name if first else '':<26}{size if first else '':>6}{'':>3}{r[0]:>8.2f} {label}{r[1]:>14.2f}"
                      f"{r[2]:>13.2f}{n:>9}{'' if np.isnan(r[3]) else f'{r[3]:.2f}':>15}  {os.getloadavg()[0]:.1f}")
    print("goal: <= 10 MB a page, first view < 3 s")


if __name__ == "__main__":
    main()
