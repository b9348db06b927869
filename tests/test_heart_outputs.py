"""Outputs and inputs of `predict` with the heart models that a bug hunt found mishandled."""

import pytest


@pytest.mark.parametrize("out,html", [("x.csv", "x.npy"), ("x.npy", "x.csv")])
def test_heart_vm_html_naming_the_vm_array_or_its_csv_is_refused_before_anything_is_written(shared, tmp_path, out, html):
    """`--out x.csv --html x.npy`: the page was written to x.npy, then the run refused x.npy as "not a heart-vm output",
    leaving the page under the Vm array's name and no Vm nor CSV."""
    from typer.testing import CliRunner

    from cardiacml.cli import app

    from conftest import need

    rec = need(shared / "real_12lead") / "E07509"
    res = CliRunner().invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / out),
                                   "--html", str(tmp_path / html)])
    assert res.exit_code == 2, res.output
    assert f"--html {tmp_path / html} is the" in res.output and "another name" in res.output
    assert list(tmp_path.iterdir()) == []
