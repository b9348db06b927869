"""Morphology consensus: a patient's beats of one shape share their ventricular class.

Whether a beat is ventricular (AAMI V) is decided by its shape, and one patient's ventricular beats come from a few
foci, so they look alike; a beat model judging each beat alone still calls a few beats of a shape V and their twins
N or S (a noisy stretch, a slightly different coupling interval, a fiducial a few samples off).
:func:`morphology_consensus` pools the V probability over each beat's nearest neighbours in shape within the same
recording: ``p_V <- (1 - weight) p_V + weight * mean(p_V of the k most similar other beats)``, the other classes
rescaled to keep their proportions (N vs S, which timing decides, is left to the model and the rhythm context).

Neighbours are found among the beats within :data:`SPAN_S` / 2 of each beat (the whole record up to 40 min, the
beat-rhythm contract's reference span), by Euclidean distance between the beat-rhythm windows (``x[0, :W]``:
125 Hz, band-passed, polarity-made-positive and divided by the record's median QRS amplitude), every
:data:`STEP`-th sample.

Chosen on the four DS1 records held out of ``beats-ds1``'s training (106, 119, 220, 223; k 5/10/20, weight
0.3/0.5/0.8, whole window or QRS part, V alone or V and F): k = 5, weight 0.8, whole window, V alone; then read once on
DS2 (benchmarks/RESULTS.md, session of 2026-12-05, eighth). On DS2 with ``beats-ds1`` it removes 39 % of the false V
(443 -> 270) and lifts V F1 0.908 -> 0.926 with reference R peaks, by 0.017-0.035 under every other-recorder
condition; S and F F1 lose 0.004-0.02 (fusion beats sit between an N and a V cluster).
"""

from __future__ import annotations

import numpy as np

#: Neighbours pooled per beat.
K = 5
#: Share of the pooled neighbours' V probability in a beat's consensus V probability.
WEIGHT = 0.8
#: Every STEP-th window sample is compared (125 Hz / 2: the window's band is below 40 Hz).
STEP = 2
#: A beat's neighbours are searched among the beats within SPAN_S / 2 of it (s).
SPAN_S = 2400.0
#: Query beats per distance block (bounds memory: a block x its candidates float32).
QUERY_BLOCK = 1024


def morphology_consensus(windows: np.ndarray, prob: np.ndarray, classes, times_s: np.ndarray | None = None, *,
                         k: int = K, weight: float = WEIGHT, step: int = STEP, span_s: float = SPAN_S
                         ) -> tuple[np.ndarray, int]:
    """Pool each beat's V probability with its nearest neighbours in shape (see the module docstring).

    Parameters
    ----------
    windows : ndarray, shape (n, W)
        The beats' morphology windows (the beat-rhythm contract's ``x[0, :W]``), in beat order.
    prob : ndarray, shape (n, n_classes)
        Class probabilities of the same beats (rows sum to 1).
    classes : sequence of str
        Class names; without a ``"V"`` class the probabilities are returned unchanged.
    times_s : ndarray, shape (n,), optional
        Beat times (s, increasing); a beat's neighbours are searched among the beats within ``span_s`` / 2 of it.
        None: among all beats.
    k, weight, step, span_s
        Neighbours, their weight, window subsampling, neighbour time span (s).

    Returns
    -------
    (ndarray, int)
        Probabilities (n, n_classes) float64, and the number of beats whose most probable class changed.
    """
    prob = np.array(prob, np.float64, copy=True)
    classes = list(classes)
    n = len(prob)
    if "V" not in classes or n < 2 or weight <= 0:
        return prob, 0
    v = classes.index("V")
    k = int(min(k, n - 1))
    w = np.ascontiguousarray(np.asarray(windows)[:, ::step], np.float32)
    sq = np.einsum("ij,ij->i", w, w)
    pv = prob[:, v]
    pooled = np.empty(n)
    t = None if times_s is None else np.asarray(times_s, np.float64)
    for q0 in range(0, n, QUERY_BLOCK):
        q1 = min(n, q0 + QUERY_BLOCK)
        c0, c1 = 0, n
        if t is not None:
            c0 = int(np.searchsorted(t, t[q0] - span_s / 2, "left"))
            c1 = int(np.searchsorted(t, t[q1 - 1] + span_s / 2, "right"))
        d = sq[q0:q1, None] + sq[None, c0:c1] - 2.0 * (w[q0:q1] @ w[c0:c1].T)
        d[np.arange(q1 - q0), np.arange(q0, q1) - c0] = np.inf  # a beat is not its own neighbour
        if t is not None:
            d[np.abs(t[q0:q1, None] - t[None, c0:c1]) > span_s / 2] = np.inf
        kk = min(k, c1 - c0 - 1)
        kth = np.partition(d, kk - 1, axis=1)[:, kk - 1:kk]
        near = (d <= kth) & np.isfinite(d)  # the kk nearest (more only on exact ties; fewer if the span holds fewer)
        count = near.sum(1)
        pooled[q0:q1] = np.where(count > 0, (near @ pv[c0:c1]) / np.maximum(count, 1), pv[q0:q1])
    new_v = (1.0 - weight) * pv + weight * pooled
    rest = np.ones(len(classes), bool)
    rest[v] = False
    mass = prob[:, rest].sum(1)
    out = prob.copy()
    out[:, v] = new_v
    scale = np.where(mass > 1e-12, (1.0 - new_v) / np.maximum(mass, 1e-12), 0.0)
    out[:, rest] = prob[:, rest] * scale[:, None]
    lost = mass <= 1e-12  # a beat that was certainly V: what it gives up goes to N (or the first other class)
    if lost.any():
        other = classes.index("N") if "N" in classes else int(np.flatnonzero(rest)[0])
        out[lost, other] += 1.0 - new_v[lost]
    changed = int((out.argmax(1) != prob.argmax(1)).sum())
    return out, changed
