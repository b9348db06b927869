"""Numbers are checked: float32 overflow, diverging losses and non-finite outputs are errors; nothing is saved."""


import numpy as np
import pytest
from typer.testing import CliRunner

from cardiacml.errors import DataFormatError

runner = CliRunner()


# ------------------------------------------------------------------------------------ 5 overflow, divergence
def test_values_overflowing_float32_are_errors(tmp_path):
    from cardiacml.datasets.kaggle import load_heartbeat_csv
    from cardiacml.datasets.intracardiac import SimulationFiles, load_simulation

    rows = np.full((3, 188), 0.5)
    rows[:, -1] = 0
    rows[1, 10] = 1e39
    np.savetxt(tmp_path / "mitbih_train.csv", rows, delimiter=",", fmt="%.18e")
    with pytest.raises(DataFormatError, match=r"row 2: sample 10 is 1e\+39, beyond float32"):
        load_heartbeat_csv(tmp_path / "mitbih_train.csv", cache=False)
    ecg = np.zeros((500, 10))
    ecg[7, 3] = 1e39
    np.save(tmp_path / "pECGData_a.npy", ecg)
    np.save(tmp_path / "VmData_a.npy", np.zeros((500, 75)))
    with pytest.raises(DataFormatError, match="beyond float32"):
        load_simulation(SimulationFiles("a", tmp_path / "pECGData_a.npy", tmp_path / "VmData_a.npy"))


def test_diverging_training_saves_nothing(tmp_path, mitdb):
    from cardiacml.tasks import load_task
    from cardiacml.training.checkpoint import TrainConfig, TrainingError
    from cardiacml.training.loop import fit

    data = load_task("task2", mitdb=mitdb, max_train=256, max_eval=64)
    data.X_train = data.X_train.copy()
    data.X_train[5, 0, :] = 3e38  # finite in float32, overflows inside the network
    cfg = TrainConfig(model="kachuee", epochs=1, batch_size=256, augment=False, threads=1)
    with pytest.raises(TrainingError, match="loss is nan|loss is inf"):
        fit(data, cfg, tmp_path / "run", log=lambda *a: None)
    assert not (tmp_path / "run").exists()


def test_predict_refuses_nonfinite_outputs_and_out_of_range_inputs(tmp_path, tiny_run):
    from cardiacml.inference.predict import run_checked

    run_dir, rec = tiny_run

    class Broken:
        contract = rec.contract

        def predict(self, X):
            return np.full((len(X), 5), np.nan)

    with pytest.raises(DataFormatError, match="NaN or infinite outputs"):
        run_checked(Broken(), np.full((3, 1, 187), 0.5, np.float32), "x.npy")
    ecg = np.zeros((1, 12, 500))
    ecg[0, 3, 7] = 1e30
    np.save(tmp_path / "e.npy", ecg)
    from cardiacml.contracts.ecg12 import ECG12

    with pytest.raises(DataFormatError, match="outside the expected range"):
        ECG12.validate(ecg, "e.npy")
