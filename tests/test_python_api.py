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
