"""Rhythm-aware beat classifier for the ``beat-rhythm`` contract (see :mod:`cardiacml.ecg.contract`).

Input (batch, 1, 2W + F): the beat's window, the patient's local template (median of the
neighbouring beats' windows) and F R-R features, all already normalised per record. The
network sees three morphology channels (beat, template, beat - template) through a small
CNN, and the R-R features through a small MLP; both meet in a linear head. About 0.5 M
multiply-adds per beat, so a whole Holter record classifies at tens of thousands of beats/s.

In training mode the model augments its own inputs (the loop's generic augmentation is
for [0, 1] beats and must be off: ``TrainConfig(augment=False)``): per-beat gain,
noise on the beat window, small jitter of the R-R features. Recording-level augmentation
(other sampling rates, other leads, baseline wander, mains, noise) happens when the
training set is built (:func:`cardiacml.datasets.mitbih.load_beats_rhythm`).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import check_input, register_model


def _conv(cin, cout, k, stride=1):
    return nn.Sequential(nn.Conv1d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU())


@register_model("rhythmnet", kind="classification", accepts=("beat-rhythm",), params={"beats": 22901},
                reference="cardiacml (ours); R-R features after de Chazal et al. 2004")
class RhythmNet(nn.Module):
    """Beat + local template CNN with an R-R feature MLP (beat-rhythm contract, 22,901 parameters)."""

    def __init__(self, n_leads: int = 1, n_times: int = 310, n_outputs: int = 5, window: int = 150, n_features: int = 11,
                 widths=(16, 32, 32, 48), dropout: float = 0.2, aug_gain: float = 0.15, aug_noise: float = 0.03,
                 aug_rr: float = 0.03, strided: bool = False):
        super().__init__()
        if n_times != 2 * window + n_features or n_leads != 1:
            raise ValueError(f"rhythmnet expects input (batch, 1, {2 * window + n_features}), got ({n_leads}, {n_times})")
        self.window, self.n_features = window, n_features
        self.aug_gain, self.aug_noise, self.aug_rr = aug_gain, aug_noise, aug_rr
        w0, w1, w2, w3 = widths
        if strided:  # strided convolutions instead of conv + max-pool: about half the multiply-adds
            self.cnn = nn.Sequential(_conv(3, w0, 7, 2), _conv(w0, w1, 5, 2), _conv(w1, w2, 5, 2), _conv(w2, w3, 3))
        else:
            self.cnn = nn.Sequential(_conv(3, w0, 7), nn.MaxPool1d(2), _conv(w0, w1, 5), nn.MaxPool1d(2),
                                     _conv(w1, w2, 5), nn.MaxPool1d(2), _conv(w2, w3, 3))
        self.rr = nn.Sequential(nn.Linear(n_features, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(2 * w3 + 32, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, n_outputs))

    def _augment(self, beat, tmpl, feats):
        b = beat.shape[0]
        g = 1.0 + self.aug_gain * (2 * torch.rand(b, 1, device=beat.device) - 1)
        beat = beat * g + self.aug_noise * torch.rand(b, 1, device=beat.device) * torch.randn_like(beat)
        tmpl = tmpl * (1.0 + 0.5 * self.aug_gain * (2 * torch.rand(b, 1, device=beat.device) - 1))
        feats = feats + self.aug_rr * torch.randn_like(feats)
        return beat, tmpl, feats

    def forward(self, x):
        check_input(x, 1, 2 * self.window + self.n_features, "rhythmnet")
        x = x[:, 0]
        w = self.window
        beat, tmpl, feats = x[:, :w], x[:, w:2 * w], x[:, 2 * w:2 * w + self.n_features]
        if self.training:
            beat, tmpl, feats = self._augment(beat, tmpl, feats)
        h = self.cnn(torch.stack([beat, tmpl, beat - tmpl], 1))
        z = torch.cat([h.mean(-1), h.amax(-1), self.rr(feats)], 1)
        return self.head(z)
