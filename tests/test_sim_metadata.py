"""simulations.csv agrees with the hearts simulated (per-heart columns are not overwritten by the settings)."""

import numpy as np
import pandas as pd
import pytest

from cardiacml.simulate import HeartModel, simulate_dataset


@pytest.fixture(scope="module")
def model():
    return HeartModel()


def test_root_counts_in_metadata_are_the_hearts_own(model, tmp_path):
    folder = simulate_dataset(6, tmp_path, seed=0, jobs=1, model=model, show_progress=False)
    meta = pd.read_csv(folder / "simulations.csv")
    for _, row in meta.iterrows():
        p = model.draw_params(np.random.default_rng([0, int(row["index"])]))
        assert int(row["n_lv_roots"]) == p["n_lv"] and int(row["n_rv_roots"]) == p["n_rv"]
        assert int(row["n_lv_roots"]) + int(row["n_rv_roots"]) == int(row["n_stim"])
    assert meta["n_lv_roots_range"].eq("(1, 3)").all() and meta["n_rv_roots_range"].eq("(1, 2)").all()


def test_ecg_counts_nodes_activated_after_300_ms():
    """A slow heart (--cv-min 0.2 is accepted) activates nodes after the ECG histogram's 300 ms: the electrodes
    must still follow phi(t) = L @ Vm(t) over all nodes, as Vm does."""
    from cardiacml.simulate import SimulatorConfig
    from cardiacml.simulate.simulator import N_T, V_REST

    slow = HeartModel(SimulatorConfig(cv_range=(0.2, 0.2)))
    p = slow.draw_params(np.random.default_rng([0, 2]))
    act = slow.activation(p)
    assert (act > 300).sum() > 10
    ecg, _ = slow.run(p)
    pos = slow.templates.position(slow.apd(p, act))
    vm_nodes = V_REST + slow.templates.sample(np.arange(N_T)[None, :] - act[:, None], pos[:, None])
    direct = (slow.lead_field(p) @ (vm_nodes - V_REST)).T
    np.testing.assert_allclose(ecg, direct, atol=0.01 * np.abs(direct).max())


@pytest.mark.parametrize("cv_min", ["1e-300", "0.001"])
def test_absurdly_slow_velocity_is_one_line(tmp_path, cv_min):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "cardiacml.cli", "simulate", "--n", "1", "--jobs", "1", "--out",
                        str(tmp_path), "--cv-min", cv_min, "--cv-max", cv_min], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--cv-min" in r.stderr, r.stderr[-500:]


def test_compare_real_never_writes_through_a_link(model, tmp_path):
    from cardiacml.errors import OutputError
    from cardiacml.simulate.compare import compare_folder

    folder = simulate_dataset(3, tmp_path / "sim", seed=0, jobs=1, model=model, show_progress=False)
    out = folder / "compare_real"
    compare_folder(folder, out)
    assert {p.name for p in out.iterdir()} == {"lead1_overlay.png", "ecg12_sim0.png", "vm75_sim0.png",
                                              "heart_stats.csv", "comparison.txt"}
    assert (out / "lead1_overlay.png").read_bytes()[:4] == b"\x89PNG"
    victim = tmp_path / "notes.txt"
    victim.write_text("mine\n")
    (out / "comparison.txt").unlink()
    (out / "comparison.txt").symlink_to(victim)
    with pytest.raises(OutputError):
        compare_folder(folder, out)
    assert victim.read_text() == "mine\n"
