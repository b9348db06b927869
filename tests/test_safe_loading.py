"""Checkpoints never run code: anything but tensors and plain data is refused, never unpickled."""

import os

import numpy as np
import pytest
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


# ------------------------------------------------------------------------------------ a small file, a huge network
def test_checkpoint_asking_for_a_huge_network_is_refused_before_allocating_it(tmp_path):
    import resource

    from cardiacml.errors import DataFormatError
    from cardiacml.models import create_model
    from cardiacml.pretrained import pretrained_path
    from cardiacml.training.checkpoint import load_run

    ck = torch.load(pretrained_path("heart-act"), weights_only=True)
    hp = {**ck["hparams"], "width": 4000}  # 12000 in a file of 814 kB: 15 GB allocated before the weights were compared
    torch.save(dict(ck, hparams=hp), tmp_path / "wide.pt")
    with torch.device("meta"):
        wide = create_model(ck["model"], contract=ck["contract"], **hp).state_dict()
    views = {f"net.{k}": torch.zeros(1, dtype=v.dtype).expand(v.shape) for k, v in wide.items()}  # stride 0: 4 bytes each
    torch.save(dict(ck, hparams=hp, state_dict={**ck["state_dict"], **views}), tmp_path / "views.pt")
    assert (tmp_path / "views.pt").stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name in ("wide.pt", "views.pt"):
        with pytest.raises(DataFormatError, match="weights do not fit model 'tcn'"):
            load_run(tmp_path / name)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # kB; the network asked for: 1.7 GB


def test_a_run_folders_examples_npz_bomb_is_refused(tmp_path):
    """`report` reads RUN/examples.npz whole: a 75 kB file inflating to 75 MB of zeros was read."""
    import numpy as np

    from cardiacml.errors import DataFormatError
    from cardiacml.training.checkpoint import load_examples

    n = 100_000
    np.savez_compressed(tmp_path / "examples.npz", X=np.zeros((n, 1, 187), np.float32), y_true=np.zeros(n, np.int64),
                        y_pred=np.zeros(n, np.int64))
    with pytest.raises(DataFormatError, match=r"examples.npz: member 'X.npy' would inflate \d+-fold \(\d+ -> \d+ bytes\), "
                                                "over the 100x limit; refused"):
        load_examples(tmp_path)


# ------------------------------------------------------------------------------------ odd values in a checkpoint
@pytest.mark.parametrize("change, says", [
    (lambda ck: ck.update(contract="x"), "its 'contract' is a str, not a mapping"),
    (lambda ck: ck.update(config=None), "its 'config' is a NoneType, not a mapping"),
    (lambda ck: ck["state_dict"].update(in_std=torch.ones(7, 3)), r"buffer 'in_std' is a torch.float32 tensor of shape \(7, 3\)"),
    (lambda ck: ck["state_dict"].update(out_mean="x"), "buffer 'out_mean' is a str"),
])
def test_checkpoint_with_odd_values_is_one_line(tmp_path, change, says):
    """A contract or config that is no mapping, or a normalisation buffer of another shape or type, was an
    AttributeError / RuntimeError traceback (exit 1) in predict and export, the buffer's in the first forward pass."""
    from cardiacml.pretrained import pretrained_path

    ck = torch.load(pretrained_path("heart-act"), weights_only=True)
    change(ck)
    torch.save(ck, tmp_path / "odd.pt")
    res = runner.invoke(app, ["export", str(tmp_path / "odd.pt"), "--out", str(tmp_path / "odd.onnx")])
    assert res.exit_code == 2 and "odd.pt" in res.output and "Traceback" not in res.output, res.output
    assert __import__("re").search(says, res.output), res.output
    assert not (tmp_path / "odd.onnx").exists()


@pytest.mark.parametrize("change, says", [
    (lambda u: u.update(mean={"x": 1}), "'mean' is not numbers"),
    (lambda u: u.update(precision=[[1.0]]), r"'precision' is \(1, 1\), not \(128, 128\)"),
    (lambda u: u.update(threshold="x"), "'threshold' 'x' is not a finite number"),
    (lambda u: u.update(mean=[0.0] * 5, precision=[[0.0] * 5] * 5), "has 5 features, its network"),
])
def test_checkpoint_with_odd_unfamiliarity_data_is_one_line(tmp_path, shared, change, says):
    """The unfamiliarity score's stored mean / precision / threshold are read at every prediction: odd ones were
    numpy's IndexError (exit 1) after the whole recording had been processed."""
    from cardiacml.pretrained import pretrained_path

    ck = torch.load(pretrained_path("heart-act"), weights_only=True)
    change(ck["unfamiliarity"])
    torch.save(ck, tmp_path / "odd.pt")
    out = tmp_path / "p.csv"
    res = runner.invoke(app, ["predict", str(tmp_path / "odd.pt"), str(shared / "real_12lead" / "E07500.hea"), "--out", str(out)])
    assert res.exit_code == 2 and "odd.pt" in res.output and "Traceback" not in res.output, res.output
    assert "unfamiliarity data" in res.output and __import__("re").search(says, res.output), res.output
    assert not out.exists()
