"""Heart models on real 12-lead ECGs (issue 21): QRS duration from 12 leads, and the shipped activation model's
physiology on a few real recordings (a normal sinus beat, the complete right bundle branch block E07509)."""

import numpy as np
import pytest

from cardiacml.inference.physiology import measure_qrs, physiology_checks


@pytest.fixture(scope="module")
def real12(shared):
    d = shared / "real_12lead"
    if not (d / "E07509.hea").is_file():
        pytest.skip(f"real 12-lead recordings not found in {d}")
    return d


def test_qrs_duration_separates_bundle_branch_block(real12):
    normal = [measure_qrs(real12 / r) for r in ("E07506", "E07511", "E07513", "E07515", "E07518")]
    rbbb = measure_qrs(real12 / "E07509")
    assert all(55 <= q <= 110 for q in normal), normal  # sinus rhythm, no conduction finding: a normal QRS
    assert rbbb >= 120 and rbbb > max(normal) + 30, (rbbb, normal)  # complete RBBB: QRS >= 120 ms


def test_shipped_activation_model_obeys_physiology_on_real_beats(real12):
    res = physiology_checks("heart-act", [real12 / "E07506", real12 / "E07513", real12 / "E07509"])
    rows = {r["record"]: r for r in res["rows"]}
    assert set(rows) == {"E07506", "E07513", "E07509"}
    for r in rows.values():
        assert np.isfinite([r["earliest_ms"], r["tat_ms"], r["qrs_ms"]]).all()
        assert 0 <= r["earliest_ms"] <= 30, r  # activation starts at the QRS onset, not 50-100 ms later (0.2 model)
        assert r["unfamiliarity"] is not None and r["threshold"] > 0
    # right bundle branch block: the RV free wall activates after the LV endocardium, and later than in normal beats
    assert rows["E07509"]["rv_minus_lv_ms"] >= 15, rows["E07509"]
    assert rows["E07509"]["rv_minus_lv_ms"] > max(rows[k]["rv_minus_lv_ms"] for k in ("E07506", "E07513")) + 5
    assert rows["E07509"]["tat_ms"] > min(rows[k]["tat_ms"] for k in ("E07506", "E07513"))


def test_a_map_with_no_active_site_fails_the_checks_instead_of_crashing(real12, monkeypatch):
    """np.min of an empty array stopped the whole benchmark."""
    import cardiacml.inference.predict as P
    from cardiacml.contracts.ecg12 import ECG12

    class NoActivation:
        contract = ECG12

        def predict(self, X):
            return np.full((len(X), 75), np.nan, np.float32)

    monkeypatch.setattr(P, "load_runner", lambda model: NoActivation())
    res = physiology_checks("stub", [real12 / "E07506", real12 / "E07513", real12 / "E07509"])
    assert [r["sites_never_active"] for r in res["rows"]] == [75, 75, 75]
    assert res["summary"]["share_earliest_le_20ms"] == 0.0


def test_a_vm_model_falling_from_its_first_sample_is_not_activated_at_0_ms(real12, monkeypatch):
    """heart-vm's Vm starts above -40 mV and falls at a few sites of E07504, E07517, E07518: those sites were taken as
    activated at 0 ms, so the records' earliest activation was 0 ms and passed the '<= 20 ms' check."""
    import cardiacml.inference.predict as P
    from cardiacml.contracts.ecg12 import ECG12

    t = np.arange(500)

    class FallingSite:
        contract = ECG12

        def predict(self, X):
            vm = np.where(t[None, None, :] >= 30 + np.arange(75)[None, :, None] % 40, 20.0, -85.0)
            vm = np.repeat(vm, len(X), 0).astype(np.float32)
            vm[:, 5, :40] = -26.0 - 1.5 * t[:40]  # falls from -26 mV, then up at 40 ms
            return vm

    monkeypatch.setattr(P, "load_runner", lambda model: FallingSite())
    res = physiology_checks("stub", [real12 / "E07506"])
    row = res["rows"][0]
    assert row["earliest_ms"] == 30 and row["sites_never_active"] == 0, row
    assert row["latest_ms"] == 69 and row["tat_ms"] == 39


def test_the_benchmark_json_has_no_bare_nan():
    """``heart_real.py --json`` wrote a record without a value as bare NaN, which is not JSON (a strict reader fails)."""
    import importlib.util
    import json
    import math
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "heart_real.py"
    spec = importlib.util.spec_from_file_location("heart_real_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = json.dumps(mod._json_safe({"x": math.nan, "y": [1.0, -math.inf], "z": {"w": 2}}), allow_nan=False)
    assert json.loads(text) == {"x": None, "y": [1.0, None], "z": {"w": 2}}


def test_measure_qrs_refuses_a_gap(shared, tmp_path):
    """The QRS duration is not measured across a gap (a lead with invalid samples): refused in one line by name, as a
    heart model's window is (ecg.twelve_lead.refuse_gaps), not read as a flat lead off."""
    import wfdb

    from cardiacml.errors import DataFormatError
    from cardiacml.io import open_record

    from conftest import need

    rec = open_record(need(shared / "real_12lead") / "E07500")
    x = rec.read(0, rec.n_samples)
    x[1000:1100, list(rec.leads).index("V2")] = np.nan
    wfdb.wrsamp("gap", fs=rec.fs, units=["mV"] * len(rec.leads), sig_name=list(rec.leads), p_signal=x,
                fmt=["16"] * len(rec.leads), write_dir=str(tmp_path))
    with pytest.raises(DataFormatError, match=r"gap: NaN or infinite value in lead V2 at sample 1000"):
        measure_qrs(tmp_path / "gap")
