"""Checkpoints never run code: anything but tensors and plain data is refused, never unpickled."""

import os

import numpy as np
import torch
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()


# ------------------------------------------------------------------------------------ 1 malicious checkpoint
class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path, tiny_run):
    run_dir, _ = tiny_run
    evil = tmp_path / "evil"
    evil.mkdir()
    marker = tmp_path / "pwned"
    ck = torch.load(run_dir / "model.pt", weights_only=True)
    ck["hparams"] = {"x": _Payload(marker)}
    torch.save(ck, evil / "model.pt")
    beats = tmp_path / "b.npy"
    np.save(beats, np.full((2, 187), 0.5))
    for args in (["predict", str(evil), str(beats), "--out", str(tmp_path / "p.csv")], ["export", str(evil)],
                 ["evaluate", str(evil)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "refused to load" in res.output and "could run code" in res.output
        assert not marker.exists(), f"the payload ran during {args[0]}"
    assert not (tmp_path / "p.csv").exists()


def test_truncated_checkpoint_gives_clear_error(tmp_path, tiny_run):
    run_dir, _ = tiny_run
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.pt").write_bytes((run_dir / "model.pt").read_bytes()[:668])
    res = runner.invoke(app, ["export", str(bad)])
    assert res.exit_code == 2 and "not a readable cardiacml checkpoint" in res.output


def test_a_file_that_is_no_checkpoint_is_not_called_a_code_risk(tmp_path):
    """Text in a model.pt is a damaged or wrong file, not 'Python objects that could run code'."""
    (tmp_path / "g.pt").write_text("not a checkpoint")
    np.save(tmp_path / "b.npy", np.full((2, 187), 0.5))
    res = runner.invoke(app, ["predict", str(tmp_path / "g.pt"), str(tmp_path / "b.npy")])
    assert res.exit_code == 2 and "not a readable PyTorch checkpoint" in res.output
    assert "could run code" not in res.output
