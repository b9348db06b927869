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
    # a stored kind, task, input contract kind, sampling rate or format this cardiacml cannot serve loaded silently
    (lambda ck: ck.update(kind="foo"), "model kind 'foo', which is not one of classification, regression, sequence"),
    (lambda ck: ck.update(kind="classification"), "model kind 'classification', but task3 models are regression"),
    (lambda ck: ck.update(task="foo"), "a model for task 'foo', which this cardiacml does not know"),
    (lambda ck: ck["contract"].update(kind="foo"), "its input contract is 'foo', but task3 models take 'ecg12'"),
    (lambda ck: ck["contract"].update(fs_hz=0), "fs_hz 0: the sampling rate must be a positive finite number"),
    (lambda ck: ck["contract"].update(fs_hz=-5.0), "fs_hz -5.0: the sampling rate must be a positive"),
    (lambda ck: ck["contract"].update(fs_hz=float("nan")), "fs_hz nan: the sampling rate must be a positive"),
    (lambda ck: ck["contract"].update(fs_hz="1000"), "fs_hz '1000': the sampling rate must be a positive"),
    (lambda ck: ck["contract"].update(fs_hz=True), "fs_hz True: the sampling rate must be a positive"),
    (lambda ck: ck.update(format=3), "checkpoint format 3, which this cardiacml does not read"),
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


def test_checkpoint_of_a_newer_cardiacml_loads_with_one_warning_and_shipped_ones_without(tmp_path, recwarn):
    """A version from the future loaded silently; the shipped models (written by 0.1.0 and 0.4.0) must still load
    without any note."""
    import warnings

    from cardiacml import __version__
    from cardiacml.pretrained import list_pretrained, pretrained_path
    from cardiacml.training.checkpoint import load_run

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails
        for name in list_pretrained():
            load_run(name)
    ck = torch.load(pretrained_path("heart-act"), weights_only=True)
    for version, warned in (("99.0.0", True), ("0.4.17", False), ("0.1.0", False), ("banana", False)):
        torch.save(dict(ck, cardiacml_version=version), tmp_path / "v.pt")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            load_run(tmp_path / "v.pt")
        notes = [str(w.message) for w in seen]
        assert len(notes) == int(warned), (version, notes)
        if warned:
            assert notes[0].startswith(f"{tmp_path / 'v.pt'}: written by cardiacml 99.0.0, newer than this "
                                       f"cardiacml {__version__}"), notes


def test_onnx_file_of_an_unknown_kind_or_sampling_rate_is_refused_on_opening(tmp_path):
    """The ONNX metadata's kind decides whether outputs become probabilities: kind 'foo' ran as a regressor."""
    import json

    import onnx

    from cardiacml.errors import DataFormatError
    from cardiacml.inference.onnx_export import export_onnx
    from cardiacml.inference.predict import load_runner

    export_onnx("beats-ds1", tmp_path / "m.onnx", n_check=2)
    for change, says in ((lambda d: d.update(kind="foo"), "model kind 'foo'"),
                         (lambda d: d["contract"].update(fs_hz=-1), "fs_hz -1: the sampling rate")):
        m = onnx.load(tmp_path / "m.onnx")
        meta = {p.key: p for p in m.metadata_props}["cardiacml"]
        d = json.loads(meta.value)
        change(d)
        meta.value = json.dumps(d)
        onnx.save(m, tmp_path / "odd.onnx")
        with pytest.raises(DataFormatError, match=r"odd\.onnx: .*" + says):
            load_runner(tmp_path / "odd.onnx")


def test_an_onnx_file_without_a_recorded_task_is_judged_by_its_kind_and_contract(tmp_path):
    """ONNX files cardiacml exported before it recorded the task (0.1) or written by hand (benchmarks/bench_holter.py)
    carry kind and contract only; the checks of 0.4.18 refused them ("a model for task None"). Their task is now the
    one their kind and contract fit; a kind no task has is still refused."""
    import json

    import onnx

    import cardiacml.inference.onnx_export as OE
    from cardiacml.errors import DataFormatError
    from cardiacml.inference.onnx_export import OnnxPredictor

    OE.export_onnx("beats-ds1", tmp_path / "m.onnx", n_check=2)

    def rewrite(name, edit):
        proto = onnx.load(str(tmp_path / "m.onnx"))
        entry = next(e for e in proto.metadata_props if e.key == "cardiacml")
        meta = json.loads(entry.value)
        edit(meta)
        entry.value = json.dumps(meta)
        onnx.save(proto, str(tmp_path / name))
        return tmp_path / name

    old = rewrite("old.onnx", lambda m: m.pop("task"))
    assert OnnxPredictor(old, threads=1).contract.kind == OnnxPredictor(tmp_path / "m.onnx", threads=1).contract.kind
    with pytest.raises(DataFormatError, match="the file records no task and no task takes its kind .regression."):
        OnnxPredictor(rewrite("odd.onnx", lambda m: (m.pop("task"), m.update(kind="regression"))), threads=1)
