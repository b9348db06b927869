import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cardiacml.contracts.ecg12 import LEADS, leads_from_electrodes
from cardiacml.datasets.intracardiac import activation_times
from cardiacml.simulate import HeartModel, simulate_dataset, simulate_one
from cardiacml.simulate.simulator import N_T, V_REST, load_tables

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def model():
    return HeartModel()


def _single_root(model, root=0, cv=0.6):
    p = model.draw_params(np.random.default_rng(0))
    return dict(p, roots=np.array([root]), delays=np.array([0.0]), cv=cv, scale=1.0)


# ------------------------------------------------------------------ physics
def test_lead_field_is_physical():
    """Stored (float16) lead fields: a uniform Vm has no gradient, so no body-surface potential."""
    with np.load(Path(load_tables.__defaults__[0]), allow_pickle=False) as z:
        raw = z["lead"].astype(np.float64)
    assert np.all(np.abs(raw.sum(-1)) < 2e-3 * np.abs(raw).sum(-1))
    t = load_tables()
    np.testing.assert_allclose(t["lead"].sum(-1), 0, atol=1e-4 * np.abs(t["lead"]).max())


@pytest.mark.slow
def test_bem_matches_analytic_dipole_in_insulated_sphere():
    """The torso BEM (same code that built the tables) against the Legendre-series solution."""
    pytest.importorskip("bempp_cl")
    import bempp_cl.api as bempp

    from cardiacml.simulate.torso import bem_solver, sphere_dipole_potential

    radius = 100.0
    s = bempp.shapes.regular_sphere(4)
    v, tri = s.vertices.T * radius, s.elements.T.copy()
    solve = bem_solver(v, tri)
    p = np.array([0.3, -0.5, 1.0])
    for r0 in (np.zeros(3), np.array([20.0, -30.0, 40.0])):
        d = v - r0
        phi_inf = d @ p / (4 * np.pi * np.linalg.norm(d, axis=1) ** 3)
        phi = solve(phi_inf[:, None])[:, 0]
        exact = sphere_dipole_potential(v, r0, p, radius)
        assert np.linalg.norm(phi - exact) / np.linalg.norm(exact) < 0.01
    # a central dipole: the insulated boundary triples the infinite-medium potential
    phi_inf = v @ p / (4 * np.pi * radius ** 3)
    assert abs(np.linalg.norm(solve(phi_inf[:, None])[:, 0]) / np.linalg.norm(phi_inf) - 3.0) < 0.01


def test_action_potential_shape(model):
    from cardiacml.simulate.ap import ap_metrics

    tf = model.templates
    m = tf.metrics
    i = np.searchsorted(tf.apd, [296, 328, 352])
    assert np.all((m["peak"][i] > 25) & (m["peak"][i] < 30)), "upstroke to +25..+30 mV"
    assert np.all(m["v100"][i] > 20), "dome 100 ms after activation (real +24..+26 mV)"
    np.testing.assert_allclose(m["apd90"], tf.apd, atol=1.5)  # each class has the APD90 it is named after
    # per-site APs of a simulation: rest, peak, APD in the real ranges
    _, vm, _ = simulate_one(model, 3, 1)
    at = activation_times(vm)
    sm = ap_metrics(vm.astype(np.float64), 1.0, rest=V_REST)
    assert np.allclose(vm[0], V_REST, atol=0.01)
    assert 25 < np.median(sm["peak"]) < 30
    assert 250 < np.median(sm["apd90"]) < 400
    v100 = vm[(at + 100).astype(int), np.arange(75)]
    assert np.median(v100) > 5


def test_activation_monotone_from_stimulus(model):
    """Eikonal times from one root: 0 there, no other local minimum, Lipschitz in the slowest speed."""
    p = _single_root(model, root=5)
    act = model.activation(p)
    root_node = model.roots[5]
    assert act[root_node] == pytest.approx(0.0, abs=0.02)
    tet = model.geometry.tetra
    pairs = np.unique(np.sort(np.concatenate([tet[:, [i, j]] for i in range(4) for j in range(i + 1, 4)]), axis=1), axis=0)
    a, b = pairs.T
    n = len(act)
    nb_min = np.full(n, np.inf)
    np.minimum.at(nb_min, a, act[b])
    np.minimum.at(nb_min, b, act[a])
    local_min = np.flatnonzero(act <= nb_min)
    assert set(local_min) <= {root_node}
    length = np.linalg.norm(model.geometry.points[a] - model.geometry.points[b], axis=1)
    v_slowest = 0.25 * p["cv"] / 0.6
    assert np.all(np.abs(act[a] - act[b]) <= length / v_slowest * 1.05 + 0.02)
    # and it spreads from the stimulus: sites far from the root activate later
    d = np.linalg.norm(model.geometry.site_xyz - model.geometry.points[root_node], axis=1)
    assert np.corrcoef(d, act[model.site_nodes])[0, 1] > 0.6


def test_simulation_is_plausible(model):
    ecg, vm, meta = simulate_one(model, seed=5, index=0)
    assert ecg.shape == (500, 10) and vm.shape == (500, 75)
    assert ecg.dtype == np.float32 and vm.dtype == np.float32
    at = activation_times(vm)
    assert not np.isnan(at).any()
    assert 0 <= at.min() <= 15 and at.max() < 130  # whole heart activates within a QRS-like window
    leads = leads_from_electrodes(ecg)
    qrs_amp = np.abs(leads[:, :120]).max()
    assert 0.5 < qrs_amp < 10, "QRS amplitude in mV"
    assert np.abs(leads[:, 0]).max() < 0.01 * qrs_amp  # quiet before the first activation
    assert np.abs(leads[:, -5:]).max() < 0.05 * qrs_amp  # back to baseline after the T wave
    assert np.abs(leads[:, 200:480]).max() > 0.1, "a visible T wave"


def test_t_wave_polarity_over_hearts(model):
    """T positive in I, II, V5, V6 and negative in aVR, V1 in most hearts (as in the real data)."""
    t = []
    for i in range(40):
        ecg, _, _ = simulate_one(model, 11, i)
        lw = leads_from_electrodes(ecg)[:, 200:480]
        t.append(lw[np.arange(12), np.abs(lw).argmax(1)])
    t = np.array(t)
    frac_pos = (t > 0).mean(0)
    li = {k: i for i, k in enumerate(LEADS)}
    for lead in ("I", "II", "V5", "V6"):
        assert frac_pos[li[lead]] >= 0.75, (lead, frac_pos[li[lead]])
    assert frac_pos[li["aVR"]] <= 0.1
    assert frac_pos[li["V1"]] < 0.5
    assert np.median(np.abs(t[:, li["I"]])) > 0.3 and np.median(np.abs(t[:, li["II"]])) > 0.3


def test_fast_ecg_equals_direct_lead_field_product(model):
    """The 2-D histogram / template-matrix evaluation equals phi(t) = L @ Vm(t) over all 8,033 nodes."""
    p = model.draw_params(np.random.default_rng(7))
    ecg, vm_sites = model.run(p)
    act = model.activation(p)
    pos = model.templates.position(model.apd(p, act))
    vm_nodes = V_REST + model.templates.sample(np.arange(N_T)[None, :] - act[:, None], pos[:, None])  # (8033, 500)
    direct = (model.lead_field(p) @ (vm_nodes - V_REST)).T
    assert np.abs(direct).max() > 0.3
    # the fast path bins activation times on a 0.5 ms grid: agreement to a small fraction of the signal
    np.testing.assert_allclose(ecg, direct, atol=0.01 * np.abs(direct).max())
    np.testing.assert_allclose(vm_sites, vm_nodes[model.site_nodes].T, atol=1e-3)


def test_faster_conduction_shortens_activation(model):
    p = model.draw_params(np.random.default_rng(0))
    slow = model.activation(dict(p, cv=0.4))
    fast = model.activation(dict(p, cv=0.6))
    assert np.ptp(fast) < np.ptp(slow)


# ------------------------------------------------------------------ files, resume, shards, interrupts
def _bytes(folder):
    return {f.name: f.read_bytes() for f in sorted(folder.glob("*.npy"))}


def test_reproducible_and_independent_of_jobs(model, tmp_path):
    a = simulate_dataset(6, tmp_path / "a", seed=9, jobs=1, model=model, show_progress=False)
    b = simulate_dataset(6, tmp_path / "b", seed=9, jobs=2, model=model, show_progress=False)
    assert _bytes(a) == _bytes(b) and len(_bytes(a)) == 12
    c = simulate_dataset(2, tmp_path / "c", seed=10, jobs=1, model=model, show_progress=False)
    assert not np.array_equal(np.load(next(c.glob("pECGData*"))), np.load(next(a.glob("pECGData*"))))
    meta = pd.read_csv(a / "simulations.csv")
    assert list(meta["index"]) == list(range(6)) and (meta["n_total"] == 6).all()
    for col in ("volunteer", "scale", "cv", "stim_nodes", "apd", "d_transmural", "d_apicobasal", "bcl", "gkr", "electrode_jitter_mm"):
        assert col in meta and meta[col].notna().all()


def test_resume_repairs_missing_and_broken_files(model, tmp_path):
    clean = simulate_dataset(8, tmp_path / "clean", seed=4, jobs=1, model=model, show_progress=False)
    run = simulate_dataset(8, tmp_path / "run", seed=4, jobs=2, model=model, show_progress=False)
    files = sorted(run.glob("*.npy"))
    files[0].unlink()  # missing
    files[3].write_bytes(b"")  # 0-byte
    files[5].write_bytes(files[5].read_bytes()[:100])  # truncated
    np.save(files[7], np.full((500, 75) if "VmData" in files[7].name else (500, 10), np.nan, np.float32))  # not finite
    (run / "simulations.csv").unlink()
    mtime = files[10].stat().st_mtime_ns
    simulate_dataset(8, tmp_path / "run", seed=4, jobs=2, model=model, show_progress=False)
    assert _bytes(run) == _bytes(clean)
    assert files[10].stat().st_mtime_ns == mtime, "complete pairs are skipped, not rewritten"
    assert pd.read_csv(run / "simulations.csv").equals(pd.read_csv(clean / "simulations.csv"))
    assert not list(run.glob(".*tmp*"))


def test_shards_equal_unsharded_run(model, tmp_path):
    whole = simulate_dataset(7, tmp_path / "whole", seed=2, jobs=1, model=model, show_progress=False)
    for i in range(2):
        simulate_dataset(7, tmp_path / "sharded", seed=2, jobs=2, model=model, show_progress=False, shard=f"{i}/2")
    sharded = tmp_path / "sharded" / whole.name
    assert _bytes(sharded) == _bytes(whole)
    parts = [pd.read_csv(sharded / f"simulations_shard{i}of2.csv") for i in range(2)]
    assert list(parts[0]["index"]) == [0, 1, 2] and list(parts[1]["index"]) == [3, 4, 5, 6]
    merged = pd.concat(parts, ignore_index=True)
    assert merged.equals(pd.read_csv(whole / "simulations.csv")) and (merged["n_total"] == 7).all()
    assert not (sharded / "simulations.csv").exists()
    with pytest.raises(ValueError):
        simulate_dataset(7, tmp_path / "x", model=model, shard="2/2")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_workers_and_leaves_no_partial_files(tmp_path, sig):
    env = dict(os.environ, PYTHONPATH=str(SRC), MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "cardiacml.cli", "simulate", "--n", "20000", "--jobs", "2", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = tmp_path / "data_hearts_dd_0p2_sim_s0"
    t0 = time.time()
    while len(list(folder.glob("pECGData*"))) < 20 and time.time() - t0 < 120:
        time.sleep(0.2)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("simulate did not stop within 20 s")
    assert proc.returncode == 130
    assert "resume" in err
    time.sleep(1.0)
    names = sorted(f.name for f in folder.iterdir())
    time.sleep(1.0)
    assert sorted(f.name for f in folder.iterdir()) == names, "no worker keeps writing"
    assert not [n for n in names if ".tmp" in n]
    ecg = {n[len("pECGData_"):] for n in names if n.startswith("pECGData_")}
    vm = {n[len("VmData_"):] for n in names if n.startswith("VmData_")}
    assert ecg == vm and len(ecg) >= 20, "only complete pairs remain"
    for f in folder.glob("*.npy"):
        a = np.load(f)
        assert np.isfinite(a).all() and a.shape[0] == 500


def test_rejects_bad_n(tmp_path):
    with pytest.raises(ValueError):
        simulate_dataset(0, tmp_path)


def test_resume_refuses_other_settings_and_the_cache_a_folder_its_metadata_does_not_describe(model, tmp_path):
    """A re-run with other settings kept the old hearts and listed them with the new settings (every heart 'normal'
    after --normal-only); fewer --n left extra files the cache read as NaN-labelled hearts; a deleted pair or an
    unfinished run was cached as a smaller dataset. All are refused now, in one line."""
    from cardiacml.datasets.intracardiac import build_cache
    from cardiacml.errors import DataFormatError, UsageError
    from cardiacml.simulate import SimulatorConfig

    run = simulate_dataset(6, tmp_path / "a", seed=1, jobs=1, model=model, show_progress=False)
    with pytest.raises(UsageError, match=r"holds hearts simulated with other settings \(conduction_shares differ\)"):
        simulate_dataset(6, tmp_path / "a", seed=1, jobs=1, cfg=SimulatorConfig(conduction_shares=()),
                         show_progress=False)
    with pytest.raises(UsageError, match=r"holds 2 simulation\(s\) beyond --n 4"):
        simulate_dataset(4, tmp_path / "a", seed=1, jobs=1, model=model, show_progress=False)
    with pytest.raises(UsageError, match="--seed must be >= 0"):
        simulate_dataset(2, tmp_path / "b", seed=-1, model=model)
    with pytest.raises(UsageError, match="holds none"):
        simulate_dataset(4, tmp_path / "b", model=model, shard="0/8")
    assert not (tmp_path / "b").exists()
    pair = sorted(run.glob("*_000004.npy"))
    kept = [f.read_bytes() for f in pair]
    for f in pair:
        f.unlink()
    with pytest.raises(DataFormatError, match=r"1 simulation\(s\) listed in its metadata have no file pair"):
        build_cache(tmp_path / "a", tmp_path / "cache")
    pair[0].write_bytes(kept[0])  # one file of the pair back: --lenient skips it, with its metadata row
    with pytest.warns(UserWarning, match="unpaired"):
        data = build_cache(tmp_path / "a", tmp_path / "cache", strict=False)
    assert len(data) == 5 and "hearts_dd_0p2_sim_s1_000004" not in list(data.names)
    for f, b in zip(pair, kept):
        f.write_bytes(b)
    for kind in ("pECGData", "VmData"):
        src = next(run.glob(f"{kind}_*_000001.npy"))
        (run / src.name.replace("000001", "000009")).write_bytes(src.read_bytes())
    with pytest.raises(DataFormatError, match=r"1 simulation file pair\(s\) its metadata does not list"):
        build_cache(tmp_path / "a", tmp_path / "cache")
    for f in run.glob("*_000009.npy"):
        f.unlink()
    (run / "simulations.csv").unlink()
    with pytest.raises(DataFormatError, match="an unfinished simulation run"):
        build_cache(tmp_path / "a", tmp_path / "cache")


def test_an_interrupted_run_removes_its_temporaries_not_another_shards(tmp_path):
    """_cleanup removed every `.*.npy.tmp*` in the folder, also the array another shard writing into the same folder
    was writing at that moment (its os.replace then failed). Only this process's and dead processes' go now."""
    import subprocess
    import sys

    from cardiacml.simulate.simulator import _cleanup

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        names = {"live": f".VmData_a.npy.tmp{live.pid}.0a1b2c3d", "dead": f".VmData_b.npy.tmp{dead.pid}.0a1b2c3d",
                 "mine": f".pECGData_c.npy.tmp{os.getpid()}.0a1b2c3d"}
        for n in names.values():
            (tmp_path / n).write_bytes(b"x")
        _cleanup(tmp_path, [])
        assert sorted(p.name for p in tmp_path.iterdir()) == [names["live"]]
    finally:
        live.kill()
        live.wait()
