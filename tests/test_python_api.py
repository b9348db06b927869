"""The Python API as a notebook user calls it: misspelt options, arrays of the wrong kind, ONNX and PyTorch runners
alike; one clear error naming the problem, never a silent default or a traceback from a library below."""

import pytest

from cardiacml.errors import UsageError


def test_train_run_refuses_an_unknown_option(tmp_path):
    """``train_run(..., epoch=1)`` (for epochs) was dropped silently: the run trained 20 epochs."""
    from cardiacml.training.run import train_run

    with pytest.raises(UsageError, match="unknown option.*epoch.*it takes.*epochs"):
        train_run("task2", "kachuee", data_dir=tmp_path, epoch=1, out=tmp_path / "run", log=lambda *a: None)
    assert not (tmp_path / "run").exists()


def test_array_record_takes_fs_as_text_and_refuses_non_numbers_in_one_line():
    """``ArrayRecord(sig, "360")`` was a TypeError from np.isfinite (open_record's ``fs="360"`` works); a signal of
    strings a ValueError from NumPy."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.io import ArrayRecord

    assert ArrayRecord(np.zeros(3600), "360").fs == 360.0
    for fs in ("360 Hz", None, "nan", -1, 0):
        with pytest.raises(DataFormatError, match="sampling rate must be a positive number of Hz"):
            ArrayRecord(np.zeros(3600), fs)
    with pytest.raises(DataFormatError, match="a signal must be numbers"):
        ArrayRecord(np.array(["a"] * 10), 360)


def test_array_record_refuses_leads_by_samples():
    """A (2, 21600) array (leads first) was taken for 21,600 leads of 2 samples: "recording is 0.0 s long"."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.io import ArrayRecord

    with pytest.raises(DataFormatError, match=r"more leads than samples; give it transposed \(signal.T\)"):
        ArrayRecord(np.zeros((2, 21600)), 360)
    assert ArrayRecord(np.zeros((21600, 2)), 360).leads == ("lead0", "lead1")


def test_onnx_runner_refuses_wrong_shapes_and_takes_no_input_as_the_torch_runner(tmp_path):
    """OnnxPredictor.predict on a (n, 187) array raised onnxruntime's INVALID_ARGUMENT; on no input a ValueError
    (need at least one array to concatenate), where the PyTorch runner refuses the shape in one line and returns (0, 5)."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.onnx_export import export_onnx
    from cardiacml.inference.predict import load_runner

    export_onnx("beats-ds1", tmp_path / "m.onnx", n_check=2)
    pt, ox = load_runner("beats-ds1"), load_runner(tmp_path / "m.onnx")
    n_samples = pt.contract.n_samples
    for runner in (pt, ox):
        with pytest.raises(DataFormatError, match=rf"this model takes \(n, 1, {n_samples}\)"):
            runner.predict(np.zeros((3, n_samples), np.float32))
        assert runner.predict(np.zeros((0, 1, n_samples), np.float32)).shape == (0, 5)
    x = np.random.default_rng(0).random((3, 1, n_samples)).tolist()  # a list, float64
    assert np.abs(pt.predict(x) - ox.predict(x)).max() < 1e-4
