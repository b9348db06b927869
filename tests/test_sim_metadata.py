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
