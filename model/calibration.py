"""Temperature scaling and expected calibration error (ECE).

The review flags downstream compare these probabilities with thresholds, so they must mean what
they say. One temperature, fitted on the validation split, divides all logits (Guo et al., 2017).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def softmax(logits: npt.NDArray[np.floating], temperature: float = 1.0) -> F32:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(logits: npt.NDArray[np.floating], labels: npt.NDArray[np.integer], t: float) -> float:
    z = np.asarray(logits, np.float64) / t
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: npt.NDArray[np.floating], labels: npt.NDArray[np.integer]) -> float:
    """The temperature minimising validation NLL: a fine log-spaced grid, then a finer one."""
    grid = np.geomspace(0.25, 8.0, 121)
    best = min(grid, key=lambda t: nll(logits, labels, float(t)))
    fine = np.geomspace(best / 1.03, best * 1.03, 61)
    return float(min(fine, key=lambda t: nll(logits, labels, float(t))))


def ece(probs: npt.NDArray[np.floating], labels: npt.NDArray[np.integer], bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence, equal-width bins (fraction, not %)."""
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(float(conf[m].mean()) - float(right[m].mean()))
    return float(total)
