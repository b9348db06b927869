import pytest
import torch

from cardiacml.models import count_parameters, create_model, get_spec, list_models


def test_registry_lists_all_models():
    assert set(list_models()) >= {"kachuee", "beatnet", "squeezenet1d", "tcn"}
    assert set(list_models("classification")) == {"kachuee", "beatnet"}
    with pytest.raises(KeyError, match="unknown model"):
        create_model("nope", 1, 187, 5)


@pytest.mark.parametrize("name,expected", [("kachuee", (50_000, 60_000)), ("beatnet", (60_000, 100_000))])
def test_beat_model_sizes(name, expected):
    m = create_model(name, n_leads=1, n_times=187, n_outputs=5)
    assert expected[0] <= count_parameters(m) <= expected[1]
    assert m(torch.rand(3, 1, 187)).shape == (3, 5)
    assert create_model(name, 1, 187, 2)(torch.rand(2, 1, 187)).shape == (2, 2)


@pytest.mark.parametrize("name", ["squeezenet1d", "tcn"])
def test_heart_models_shapes(name):
    x = torch.randn(2, 12, 500)
    assert create_model(name, 12, 500, 75, out="vector")(x).shape == (2, 75)
    assert create_model(name, 12, 500, 75, out="sequence")(x).shape == (2, 75, 500)
    assert "vector" in get_spec(name).outputs


def test_soft_argmax_head_outputs_times_within_recording():
    m = create_model("tcn", 12, 500, 75, out="vector").eval()
    t = m(torch.randn(4, 12, 500))
    assert (t >= 0).all() and (t <= 499).all()
