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


def test_predict_array_leaves_the_models_mode_and_device_as_they_were():
    """``predict_array(model, X)`` called ``model.eval().to("cpu")`` on the caller's model: a model being trained in a
    notebook loop was left in eval mode (dropout and batch norm off for the rest of the training), and a GPU model was
    moved to the CPU."""
    from cardiacml.models import create_model
    from cardiacml.training.loop import predict_array

    model = create_model("beatnet", 1, 187, 5)
    model.train()
    X = np.random.default_rng(0).random((4, 1, 187)).astype(np.float32)
    p = predict_array(model, X)
    assert p.shape == (4, 5) and model.training
    model.eval()
    assert np.allclose(predict_array(model, X), p, atol=1e-6) and not model.training  # predicted in eval mode both times
    model.train()
    predict_array(model, X[:0])  # no input: the output's shape from one zero input, also in eval mode
    assert model.training
    if torch.cuda.is_available():
        model.cuda()
        predict_array(model, X)
        assert next(model.parameters()).is_cuda


def test_runners_runs_and_record_predictions_show_as_one_short_line(tmp_path, mitdb):
    """The last line of a notebook cell shows its value: a RecordPrediction of a 2-minute strip printed 21,000
    characters (its probabilities and summary whole), a RunRecord 32,000 (every weight of the model), a runner
    ``<cardiacml.inference.predict.TorchRunner object at 0x7f...>``."""
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.onnx_export import export_onnx
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import ArrayRecord, open_record
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit

    def short(obj, *words):
        text = repr(obj)
        assert "\n" not in text and len(text) < 400 and " object at 0x" not in text, text
        for w in words:
            assert w in text, (w, text)
        return text

    export_onnx("beats-ds1", tmp_path / "m.onnx", n_check=2)
    pt, ox = load_runner("beats-ds1"), load_runner(tmp_path / "m.onnx")
    short(pt, "TorchRunner", "beats-ds1", "rhythmnet", "beat-rhythm")
    short(ox, "OnnxPredictor", "m.onnx", "beat-rhythm")
    signal = open_record(mitdb / "100").read(0, 360 * 120)
    res = predict_record(pt, ArrayRecord(signal, 360, leads=["MLII", "V1"]), tmp_path / "a.csv", show_progress=False)
    n = len(res.times_s)
    short(res, "RecordPrediction", f"{n} beats", "MLII", "'N': ")
    _, rec = fit(_tiny_task1(tmp_path), TrainConfig(task="task1", model="kachuee", epochs=1, batch_size=32, threads=1),
                 log=lambda *a: None)
    short(rec, "RunRecord", "task1", "kachuee", f"{rec.n_parameters:,} parameters", "accuracy")


def test_load_geometry_of_a_relative_or_edited_sites_file_reads_that_file(tmp_path, monkeypatch):
    """load_geometry's cache was keyed on the path as given: ``sites_path="points.csv"`` read in another folder, or the
    same file edited, gave the geometry first read (a cache keyed on the words, not the file)."""
    from cardiacml.datasets.geometry import _geometry_dir, load_geometry

    text = (_geometry_dir() / "points.csv").read_text()
    for name, shift in (("a", 0.0), ("b", 1000.0)):
        (tmp_path / name).mkdir()
        lines = text.splitlines()
        (tmp_path / name / "points.csv").write_text(text if not shift else "\n".join(
            [lines[0]] + [",".join([str(float(v) + shift) if i < 3 else v for i, v in enumerate(row.split(","))])
                          for row in lines[1:]]) + "\n")
    monkeypatch.chdir(tmp_path / "a")
    a = load_geometry(sites_path="points.csv").site_xyz
    monkeypatch.chdir(tmp_path / "b")
    b = load_geometry(sites_path="points.csv").site_xyz
    assert np.allclose(b - a, 1000.0)
    p = tmp_path / "b" / "points.csv"
    p.write_text(text)
    import os

    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))  # edited a second later
    assert np.allclose(load_geometry(sites_path=p).site_xyz, a)


def test_task_data_geometry_and_beat_sets_show_as_one_short_line(tmp_path):
    """A TaskData, HeartGeometry or BeatSet as the last line of a notebook cell showed 1,100-12,000 characters (the
    arrays whole, numpy's summary of each): one line now says what each holds."""
    from cardiacml.datasets.geometry import load_geometry
    from cardiacml.datasets.kaggle import BeatSet

    def short(obj, *words):
        text = repr(obj)
        assert "\n" not in text and len(text) < 400 and "array(" not in text, text
        for w in words:
            assert w in text, (w, text)

    data = _tiny_task1(tmp_path)
    n = [len(data.y_train), len(data.y_val), len(data.y_test)]
    short(data, "TaskData", "task1", data.protocol, f"{n[0]}/{n[1]}/{n[2]}", "(1, 187)", "2 classes", "normal",
          str(tmp_path))
    short(load_geometry(), "HeartGeometry", "8033 points", "26854 tetrahedra", "75 sites", "heart_mesh.vtk",
          "points.csv")
    rng = np.random.default_rng(0)
    beats = BeatSet(rng.random((1000, 187), np.float32), np.repeat([0, 2], 500), ("N", "S", "V", "F", "Q"),
                    np.repeat(["100", "101", "102", "103"], 250))
    short(beats, "BeatSet", "1000 beats", "187 samples", "N 500", "V 500", "4 records")
    short(beats.subset(np.arange(0)), "BeatSet", "0 beats")
