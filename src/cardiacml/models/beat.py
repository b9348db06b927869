"""Heartbeat classifiers (Tasks 1 and 2): input (batch, 1, 187) beats at 125 Hz."""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .registry import check_input, register_model


class _KachueeBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv1d(ch, ch, 5, padding=2)
        self.c2 = nn.Conv1d(ch, ch, 5, padding=2)
        self.pool = nn.MaxPool1d(5, stride=2)

    def forward(self, x):
        return self.pool(F.relu(x + self.c2(F.relu(self.c1(x)))))


@register_model("kachuee", kind="classification", accepts=("beat",), params={"task1": 54914, "task2": 55013},
                reference="Kachuee, Fazeli & Sarrafzadeh 2018, arXiv:1805.00794")
class KachueeNet(nn.Module):
    """Residual 1-D CNN of Kachuee et al. 2018 (5 residual blocks, 32 filters; 55,013 parameters for 5 classes)."""

    def __init__(self, n_leads: int = 1, n_times: int = 187, n_outputs: int = 5, width: int = 32, n_blocks: int = 5):
        super().__init__()
        self.n_leads, self.n_times = n_leads, n_times
        self.stem = nn.Conv1d(n_leads, width, 5, padding=2)
        self.blocks = nn.Sequential(*[_KachueeBlock(width) for _ in range(n_blocks)])
        with torch.no_grad():
            flat = self.blocks(self.stem(torch.zeros(1, n_leads, n_times))).numel()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, n_outputs))

    def forward(self, x):
        check_input(x, self.n_leads, self.n_times, "kachuee")
        return self.head(self.blocks(self.stem(x)))


class _SE(nn.Module):
    def __init__(self, ch: int, r: int = 8):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(ch, max(4, ch // r)), nn.ReLU(), nn.Linear(max(4, ch // r), ch), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x.mean(-1)).unsqueeze(-1)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, dilation: int = 1, drop: float = 0.0):
        super().__init__()
        pad = dilation * (k - 1) // 2
        self.c1 = nn.Conv1d(cin, cout, k, padding=pad, dilation=dilation, bias=False)
        self.b1 = nn.BatchNorm1d(cout)
        self.c2 = nn.Conv1d(cout, cout, k, padding=pad, dilation=dilation, bias=False)
        self.b2 = nn.BatchNorm1d(cout)
        self.se = _SE(cout)
        self.drop = nn.Dropout(drop)
        self.short = nn.Identity() if cin == cout else nn.Sequential(nn.Conv1d(cin, cout, 1, bias=False), nn.BatchNorm1d(cout))

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = self.se(self.b2(self.c2(self.drop(h))))
        return F.relu(h + self.short(x))


@register_model("beatnet", kind="classification", accepts=("beat",), params={"task1": 99180, "task2": 99567},
                reference="cardiacml (ours)")
class BeatNet(nn.Module):
    """Our beat classifier: residual CNN with batch norm, squeeze-excitation, dilation and avg+max pooling (99.6k parameters).

    ``stem_pool=2`` halves the time axis right after the stem, which halves the
    compute of every residual stage (about 3 M multiply-adds per beat instead of 6 M).
    """

    def __init__(self, n_leads: int = 1, n_times: int = 187, n_outputs: int = 5, widths=(32, 48, 64, 64), dropout: float = 0.1,
                 stem_pool: int = 2):
        super().__init__()
        self.n_leads, self.n_times = n_leads, n_times
        w0, w1, w2, w3 = widths
        self.stem = nn.Sequential(nn.Conv1d(n_leads, w0, 7, padding=3, bias=False), nn.BatchNorm1d(w0), nn.ReLU(),
                                  nn.MaxPool1d(stem_pool) if stem_pool > 1 else nn.Identity())
        self.body = nn.Sequential(
            _ResBlock(w0, w0, 5), nn.MaxPool1d(2),
            _ResBlock(w0, w1, 5), nn.MaxPool1d(2),
            _ResBlock(w1, w2, 5, drop=dropout), nn.MaxPool1d(2),
            _ResBlock(w2, w3, 3, dilation=2, drop=dropout),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * w3, n_outputs))

    def forward(self, x):
        check_input(x, self.n_leads, self.n_times, "beatnet")
        h = self.body(self.stem(x))
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], dim=1))
