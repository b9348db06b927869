import numpy as np
import pytest

from cardiacml.data.intracardiac import activation_times, leads_from_electrodes
from cardiacml.simulate import HeartModel, simulate_dataset, simulate_one


@pytest.fixture(scope="module")
def model():
    return HeartModel()


def test_lead_field_is_physical(model):
    # a uniform Vm has no gradient, so no body-surface potential
    np.testing.assert_allclose(model.lead_field.sum(1), 0, atol=1e-9)
    assert model.endo.sum() > 1000 and model.endo.sum() < 0.6 * len(model.endo)


def test_simulation_is_plausible(model):
    ecg, vm, meta = simulate_one(model, seed=5, index=0)
    assert ecg.shape == (500, 10) and vm.shape == (500, 75)
    assert np.allclose(vm[0], -85, atol=1) and vm.max() > 5
    at = activation_times(vm)
    assert not np.isnan(at).any()
    assert 5 <= at.min() and at.max() < 200  # whole heart activates within a QRS-like window
    leads = leads_from_electrodes(ecg)
    qrs_amp = np.abs(leads[6:]).max()
    assert 0.3 < qrs_amp < 10, "precordial QRS amplitude in mV"
    # returns to baseline before and after: quiet start
    assert np.abs(leads[:, :3]).max() < 0.05 * qrs_amp
    # the activation sequence spreads from the stimulus: earliest site is nearest to it
    stim_node = int(meta["stim_nodes"].split()[0])
    d = np.linalg.norm(model.geometry.site_xyz - model.geometry.points[stim_node], axis=1)
    assert np.corrcoef(d, at)[0, 1] > 0.5


def test_fast_ecg_equals_direct_lead_field_product(model):
    """The histogram/FFT evaluation equals phi(t) = L @ Vm(t) over all 8,033 nodes."""
    from cardiacml.simulate.simulator import V_REST, template_rep, template_up

    p = model.draw_params(np.random.default_rng(7))
    ecg, vm_sites = model.run(p)
    act = model.activation(p)
    apd = p["apd"] - p["apd_slope"] * (act - act.mean())
    tau = np.arange(500)[None, :] - act[:, None]
    vm_nodes = V_REST + template_up(tau, model.cfg) - template_rep(tau - apd[:, None], model.cfg)  # (8033, 500)
    direct = (model.lead_field @ vm_nodes).T
    assert np.abs(direct).max() > 0.3
    # the fast path bins times on a 0.25 ms grid: agreement to a small fraction of the signal
    np.testing.assert_allclose(ecg, direct, atol=0.02 * np.abs(direct).max())
    np.testing.assert_allclose(vm_sites, vm_nodes[model.site_nodes].T, atol=1e-3)


def test_reproducible_and_independent_of_jobs(model, tmp_path):
    a = simulate_dataset(6, tmp_path / "a", seed=9, jobs=1, model=model, show_progress=False)
    b = simulate_dataset(6, tmp_path / "b", seed=9, jobs=2, model=model, show_progress=False)
    for f in sorted(a.glob("*.npy")):
        np.testing.assert_array_equal(np.load(f), np.load(b / f.name))
    c = simulate_dataset(2, tmp_path / "c", seed=10, jobs=1, model=model, show_progress=False)
    assert not np.array_equal(np.load(next(c.glob("pECGData*"))), np.load(next(a.glob("pECGData*"))))


def test_faster_conduction_shortens_activation(model):
    p = model.draw_params(np.random.default_rng(0))
    slow = model.activation(dict(p, cv=0.4))
    fast = model.activation(dict(p, cv=0.8))
    assert np.ptp(fast) < np.ptp(slow)


def test_rejects_bad_n(tmp_path):
    with pytest.raises(ValueError):
        simulate_dataset(0, tmp_path)
