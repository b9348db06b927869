"""ECG -> heart models (Tasks 3 and 4): input (batch, 12, 500) 12-lead ECG at 1 kHz.

``out="vector"``: (batch, n_outputs), e.g. activation times at 75 sites (Task 3).
``out="sequence"``: (batch, n_outputs, n_times), e.g. Vm at 75 sites over 500 ms (Task 4).
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .registry import check_input, register_model


class _Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze = nn.Conv1d(cin, squeeze, 1)
        self.e1 = nn.Conv1d(squeeze, expand, 1)
        self.e3 = nn.Conv1d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(s)), F.relu(self.e3(s))], 1)


@register_model("squeezenet1d", kind="regression", outputs=("vector", "sequence"), accepts=("ecg12",),
                defaults={"task3": {"out": "vector"}, "task4": {"out": "sequence"}},
                params={"task3": 238299, "task4": 238299}, reference="LLNL Data Science Challenge starter code (Landajuela et al., CinC 2022)")
class SqueezeNet1D(nn.Module):
    """Reference baseline: 1-D SqueezeNet (fire modules) as in the LLNL challenge's starter code."""

    def __init__(self, n_leads: int = 12, n_times: int = 500, n_outputs: int = 75, out: str = "vector", dropout: float = 0.1):
        super().__init__()
        if out not in ("vector", "sequence"):
            raise ValueError("out must be 'vector' or 'sequence'")
        self.out, self.n_leads, self.n_times = out, n_leads, n_times
        self.features = nn.Sequential(
            nn.Conv1d(n_leads, 64, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool1d(3, 2, ceil_mode=True),
            _Fire(64, 16, 64), _Fire(128, 16, 64), nn.MaxPool1d(3, 2, ceil_mode=True),
            _Fire(128, 32, 128), _Fire(256, 32, 128), nn.MaxPool1d(3, 2, ceil_mode=True),
            _Fire(256, 48, 192), _Fire(384, 64, 256),
        )
        self.drop = nn.Dropout(dropout)
        self.final = nn.Conv1d(512, n_outputs, 1)

    def embed(self, x):
        """Features of the input, (batch, 512): the fire modules' output averaged over time (for the unfamiliarity score)."""
        check_input(x, self.n_leads, self.n_times, "squeezenet1d")
        return self.features(x).mean(-1)

    def forward(self, x):
        check_input(x, self.n_leads, self.n_times, "squeezenet1d")
        h = self.final(self.drop(self.features(x)))
        if self.out == "vector":
            return h.mean(-1)
        return F.interpolate(h, size=self.n_times, mode="linear", align_corners=False)


class _TCNBlock(nn.Module):
    def __init__(self, ch: int, dilation: int, dropout: float):
        super().__init__()
        self.c1 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.n1 = nn.GroupNorm(8, ch)
        self.c2 = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.n2 = nn.GroupNorm(8, ch)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h = F.gelu(self.n1(self.c1(x)))
        return x + self.n2(self.c2(self.drop(h)))


@register_model("tcn", kind="regression", outputs=("vector", "sequence"), accepts=("ecg12",),
                defaults={"task3": {"out": "vector"}, "task4": {"out": "sequence", "bounds": (-90.0, 40.0)}},
                raw_vector_output=True,
                params={"task3": 160075, "task4": 160075}, reference="cardiacml (ours)")
class ECGTCN(nn.Module):
    """Our model: non-causal temporal convolutional network at full time resolution.

    A stride-2 stem halves the time axis; residual dilated blocks (dilations 1, 2, 4, ... ) give each output sample a
    receptive field spanning most of the beat; features are interpolated back to
    500 samples before the output head. ``out="sequence"`` maps the features
    to 75 Vm traces with a 1x1 convolution; ``out="vector"`` uses a soft-argmax
    head: per site, a softmax over time of a learned "activation score" whose
    expected time is the predicted activation time (in samples), which builds in
    that the answer is a moment within the recording. ``bounds=(low, high)`` (sequence output)
    maps the output through a sigmoid into that range, in target units: for Task 4 (-90, 40) mV,
    so a predicted Vm can neither undershoot the resting potential nor overshoot the peak.
    """

    def __init__(self, n_leads: int = 12, n_times: int = 500, n_outputs: int = 75, out: str = "sequence",
                 width: int = 64, n_blocks: int = 6, dropout: float = 0.05, stride: int = 2, bounds=None):
        super().__init__()
        if out not in ("vector", "sequence"):
            raise ValueError("out must be 'vector' or 'sequence'")
        if bounds is not None and (out != "sequence" or len(bounds) != 2 or not bounds[0] < bounds[1]):
            raise ValueError("bounds=(low, high) applies to out='sequence' only, with low < high")
        self.out, self.n_leads, self.n_times = out, n_leads, n_times
        self.bounds = tuple(float(b) for b in bounds) if bounds is not None else None
        self.stem = nn.Conv1d(n_leads, width, 7, padding=3, stride=stride)
        self.blocks = nn.Sequential(*[_TCNBlock(width, 2 ** i, dropout) for i in range(n_blocks)])
        self.head = nn.Conv1d(width, n_outputs, 1)
        self.register_buffer("t", torch.arange(n_times, dtype=torch.float32), persistent=False)

    def embed(self, x):
        """Features of the input, (batch, 2 width): the last block's output averaged over time and its maximum.

        The unfamiliarity score of a prediction is a distance in this space
        (:mod:`cardiacml.training.unfamiliar`).
        """
        check_input(x, self.n_leads, self.n_times, "tcn")
        h = self.blocks(self.stem(x))
        return torch.cat([h.mean(-1), h.amax(-1)], 1)

    def forward(self, x):
        check_input(x, self.n_leads, self.n_times, "tcn")
        h = self.blocks(self.stem(x))
        if h.shape[-1] != self.n_times:  # back to full time resolution after the strided stem
            h = F.interpolate(h, size=self.n_times, mode="linear", align_corners=False)
        h = self.head(h)
        if self.out == "sequence":
            if self.bounds is not None:  # a physical range (e.g. Vm in mV): no undershoot below rest, no overshoot
                lo, hi = self.bounds
                return lo + (hi - lo) * torch.sigmoid(h)
            return h
        return (torch.softmax(h, dim=-1) * self.t).sum(-1)
