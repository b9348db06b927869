"""The Python API called again and again in one notebook session: a call leaves the session's global settings and
the user's objects as it found them, and says what it is when shown."""

import numpy as np
import torch


def _tiny_task1(tmp_path):
    from cardiacml.contracts.beat import MITBIH_CLASSES
    from cardiacml.datasets.kaggle import BeatSet, write_heartbeat_csv
    from cardiacml.tasks import load_task

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 187)
    for name, label, n in [("ptbdb_normal", 0, 40), ("ptbdb_abnormal", 1, 40)]:
        shape = np.exp(-((t - (0.3 if label else 0.5)) ** 2) / 0.005)
        X = np.clip(shape + 0.05 * rng.normal(size=(n, 187)), 0, 1).astype(np.float32)
        write_heartbeat_csv(BeatSet(X, np.full(n, label), MITBIH_CLASSES), tmp_path / f"{name}.csv")
    return load_task("task1", data_dir=tmp_path)


def test_fit_gives_back_the_sessions_torch_threads_and_an_eval_model(tmp_path):
    """``fit`` (and so ``train_run``) set ``torch.set_num_threads`` to its policy's count and left it there: after one
    training in a notebook every later PyTorch call of the session ran on that count (1 on a busy machine)."""
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit

    data = _tiny_task1(tmp_path)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        model, rec = fit(data, TrainConfig(task="task1", model="kachuee", epochs=1, batch_size=32, threads=1),
                         log=lambda *a: None)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert not model.training and not rec.module.training  # the trained model is handed back ready to predict
