import numpy as np
import pytest

from cardiacml.contracts.ecg12 import LEADS, leads_from_electrodes
from cardiacml.datasets.intracardiac import activation_times, build_cache, discover_simulations, load_simulation, open_dataset
from cardiacml.errors import DataFormatError, MissingDataError

from conftest import write_fixture_pair

REAL_NAME = "hearts_dd_0p2_geo_act_1_bcl_gkr_bcl.1000.gkr.000.pattern.0.volunteer.v12"
FOLDER = "data_hearts_dd_0p2_geo_act_1_bcl_gkr"


def test_lead_formulas_match_dataset_readme():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(500, 10))
    RA, LA, LL = e[:, 0], e[:, 1], e[:, 2]
    V = e[:, 4:]
    W = (RA + LA + LL) / 3
    expected = np.stack([LA - RA, LL - RA, LL - LA, 1.5 * (RA - W), 1.5 * (LA - W), 1.5 * (LL - W)] + [V[:, i] - W for i in range(6)])
    got = leads_from_electrodes(e)
    assert got.shape == (12, 500) and LEADS[:3] == ("I", "II", "III")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # Einthoven's law and the augmented-lead identity hold
    np.testing.assert_allclose(got[1], got[0] + got[2], atol=1e-5)
    np.testing.assert_allclose(got[3] + got[4] + got[5], 0, atol=1e-5)
    assert leads_from_electrodes(np.stack([e, e])).shape == (2, 12, 500)
    with pytest.raises(DataFormatError, match="10 electrodes"):
        leads_from_electrodes(e[:, :9])


def test_activation_time_rule_and_never_activated():
    vm = np.full((500, 75), -85.0)
    vm[37:, 0] = 10.0
    vm[120:, 1] = 0.0  # touches 0 mV but never exceeds it: not activated
    vm[0:, 2] = 5.0
    at = activation_times(vm)
    assert at[0] == 37 and at[2] == 0
    assert np.isnan(at[1]) and np.isnan(at[3])
    # the challenge's reference rule would silently give 0 for a never-activated site
    assert np.argmax(vm > 0, axis=0)[3] == 0


def test_upstroke_rule_counts_a_crossing_from_below_only():
    """A predicted Vm that starts above -40 mV and falls (heart-vm on E07504, E07517, E07518) has no upstroke at 0 ms:
    it was 'activated' at 0 ms, which made the real-ECG check's earliest activation 0 ms on those records."""
    from cardiacml.datasets.intracardiac import UPSTROKE_THRESHOLD_MV

    t = np.arange(500)
    vm = np.full((3, 500), -85.0)
    vm[0] = np.where(t < 10, -26.0 - 6 * t, -85.0)  # falls from -26 mV, never rises again
    vm[0, 74:] = 20.0  # ...then an upstroke at 74 ms
    vm[1] = np.where(t < 10, -26.0 - 6 * t, -85.0)  # falls and stays at rest: never activates
    vm[2, 30:] = 20.0  # an ordinary upstroke
    at = activation_times(vm, UPSTROKE_THRESHOLD_MV, time_axis=-1, rising=True)
    assert at[0] == 74 and np.isnan(at[1]) and at[2] == 30
    # the dataset's rule (training target, cache) is unchanged: the first sample above the threshold
    assert list(activation_times(vm, UPSTROKE_THRESHOLD_MV, time_axis=-1)[:2]) == [0, 0]
    # any time axis
    np.testing.assert_array_equal(activation_times(vm.T[None], UPSTROKE_THRESHOLD_MV, time_axis=-2, rising=True)[0], at)


def test_real_file_names_discovered_and_loaded(tmp_path):
    rng = np.random.default_rng(1)
    ecg, vm = write_fixture_pair(tmp_path / FOLDER, REAL_NAME, rng)
    write_fixture_pair(tmp_path / "data_hearts_dd_0p2_geo_inacti_2_bcl", "hearts_dd_0p2_geo_inacti_2_bcl_bcl.600.pattern.1.volunteer.v5", rng)
    (tmp_path / "unrelated").mkdir()
    np.save(tmp_path / "unrelated" / "pECGData_x.npy", ecg)  # outside data_hearts_dd_0p2* folders: ignored
    sims = discover_simulations(tmp_path)
    names = [s.name for s in sims]
    assert names == sorted(names) and len(names) == 2 and "x" not in names
    assert names[0] == REAL_NAME
    e12, v = load_simulation(sims[0])
    assert e12.shape == (12, 500) and v.shape == (75, 500)
    np.testing.assert_allclose(v, vm.T.astype(np.float32))


def test_missing_partner_truncated_shape_nan(tmp_path):
    rng = np.random.default_rng(2)
    folder = tmp_path / FOLDER
    write_fixture_pair(folder, REAL_NAME, rng)
    np.save(folder / "pECGData_hearts_dd_0p2_orphan.npy", rng.normal(size=(500, 10)))
    with pytest.raises(DataFormatError, match="no VmData partner"):
        discover_simulations(tmp_path)
    with pytest.warns(UserWarning, match="unpaired"):
        assert len(discover_simulations(tmp_path, strict=False)) == 1
    (folder / "pECGData_hearts_dd_0p2_orphan.npy").unlink()

    ecg_file = folder / f"pECGData_{REAL_NAME}.npy"
    good = ecg_file.read_bytes()
    ecg_file.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        load_simulation(discover_simulations(tmp_path)[0])
    np.save(ecg_file, rng.normal(size=(500, 12)))
    with pytest.raises(DataFormatError, match=r"expected shape \(500, 10\)"):
        load_simulation(discover_simulations(tmp_path)[0])
    bad = rng.normal(size=(500, 10))
    bad[3, 4] = np.nan
    np.save(ecg_file, bad)
    with pytest.raises(DataFormatError, match="NaN"):
        load_simulation(discover_simulations(tmp_path)[0])
    with pytest.raises(MissingDataError):
        discover_simulations(tmp_path / "absent")


def test_cache_equals_per_file_loading(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(7):
        write_fixture_pair(tmp_path / FOLDER, f"hearts_dd_0p2_geo_act_1_bcl_gkr_bcl.1000.gkr.00{i}.pattern.0.volunteer.v12", rng)
    vm = np.full((500, 75), -85.0)
    vm[50:, :74] = 20.0  # site 74 never activates
    write_fixture_pair(tmp_path / FOLDER, "hearts_dd_0p2_never", rng, vm=vm)
    with pytest.warns(UserWarning, match="never cross 0 mV"):
        ds = build_cache(tmp_path, tmp_path / "cache")
    assert len(ds) == 8 and ds.ecg.shape == (8, 12, 500) and ds.vm.shape == (8, 75, 500)
    assert isinstance(ds.ecg, np.memmap)
    assert ds.info["never_activated_sites"] == 1
    for i, sim in enumerate(discover_simulations(tmp_path)):
        e, v = load_simulation(sim)
        np.testing.assert_array_equal(ds.ecg[i], e)
        np.testing.assert_array_equal(ds.vm[i], v)
        np.testing.assert_array_equal(ds.act[i], activation_times(v, time_axis=-1))
    assert np.isnan(ds.act[ds.names.index("hearts_dd_0p2_never"), 74])
    # open_dataset reuses the cache, and rebuilds it when files are added
    assert len(open_dataset(tmp_path, tmp_path / "cache")) == 8
    write_fixture_pair(tmp_path / FOLDER, "hearts_dd_0p2_extra", rng)
    with pytest.warns(UserWarning, match="the dataset changed since the cache was built|never cross 0 mV") as seen:
        assert len(open_dataset(tmp_path, tmp_path / "cache")) == 9
    said = [str(w.message) for w in seen]
    assert any("the dataset changed" in m for m in said) and any("never cross 0 mV" in m for m in said), said


def test_simulator_output_is_indistinguishable_from_real_format(sim_root, tmp_path):
    sims = discover_simulations(sim_root)
    assert len(sims) == 160
    s = sims[0]
    assert s.ecg_path.parent.name.startswith("data_hearts_dd_0p2")
    assert s.ecg_path.name == f"pECGData_{s.name}.npy" and s.vm_path.name == f"VmData_{s.name}.npy"
    raw_e, raw_v = np.load(s.ecg_path), np.load(s.vm_path)
    assert raw_e.shape == (500, 10) and raw_v.shape == (500, 75)
    assert raw_e.dtype.kind == "f" and raw_v.dtype.kind == "f"
    ds = build_cache(sim_root, tmp_path / "c")
    assert ds.meta is not None and ds.meta["stim_site"].notna().all()
    assert not np.isnan(ds.act).any()
