"""Every string from a user's file that reaches a page is escaped, in HTML and in <script type='application/json'>."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()

EVIL = "</script><img src=x onerror=alert(1)>\"'&"


def _scripts_closed_only_by_us(page: str) -> None:
    """No user string ends a script early or opens markup: every '<img' / 'onerror' is gone from the raw page."""
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    # each JSON block still parses and gives back the original strings
    for block in re.findall(r"<script type='application/json'[^>]*>(.*?)</script>", page, flags=re.S):
        json.loads(block)


def test_json_text_escapes_and_round_trips():
    from cardiacml.viz.html.page import json_script, json_text

    obj = {"lead": EVIL, "x": [1, 2]}
    text = json_text(obj)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == obj
    block = json_script(obj, "id'x")
    assert block.count("</script>") == 1 and "id&#x27;x" in block


@pytest.mark.parametrize("where", ["csv_header", "npz_leads", "record_name"])
def test_user_strings_never_inject_into_pages(tmp_path, mitdb, where):
    from cardiacml.io import open_record

    x = open_record(mitdb / "100").read(0, 360 * 30, lead=None).astype(np.float64)
    name = "rec.csv"
    lead = "MLII"
    if where == "csv_header":
        lead = EVIL  # the reproduction: the first column's name (no MLII: the first lead is used)
        path = tmp_path / name
        path.write_text(f'"{lead.replace(chr(34), chr(34) * 2)}",V5\n' + "\n".join(f"{v:.4f},{v:.4f}" for v in x))
    elif where == "npz_leads":
        lead = EVIL
        path = tmp_path / "rec.npz"
        np.savez(path, signal=x[:, None].astype(np.float32), fs=np.array(360.0), leads=np.array([lead]))
    else:
        path = tmp_path / "a<img src=x onerror=alert(1)>'\"&.csv"  # no '/' in a file name: no '</script>' here
        path.write_text("MLII\n" + "\n".join(f"{v:.4f}" for v in x))
    page = tmp_path / "p.html"
    res = runner.invoke(app, ["predict", "beats-all", str(path), "--fs", "360", "--units", "mV", "--out",
                              str(tmp_path / "o.csv"), "--html", str(page)])
    assert res.exit_code == 0, res.output
    html = page.read_text()
    _scripts_closed_only_by_us(html)
    if where != "record_name":  # the lead name is shown (escaped) and kept intact in the JSON spec
        specs = [json.loads(b) for b in re.findall(r"<script type='application/json' id='record-strip-lod'>(.*?)</script>",
                                                   html, flags=re.S)]
        assert specs and specs[0]["lead"].strip() == lead.strip()
