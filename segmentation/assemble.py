"""Pick the best reading of a field: dynamic programming over the segment graph.

Nodes are the boundaries between consecutive segments; every candidate piece spanning segments
``[i, j)`` is an edge ``i -> j``, taken either as a digit (score: log-probability of its best
digit) or, for a single segment, as noise (score: log-probability of "not a digit" plus a small
penalty so real ink is not thrown away lightly). The best path maximises the summed
log-probabilities, i.e. the probability that every chosen piece is what we say it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from segmentation.types import NOT_A_DIGIT

#: Log-prior of calling a piece noise; keeps the path from discarding faint but real digits.
LOG_NOISE_PRIOR = math.log(0.5)
#: Log-prior of cutting through connected ink: one connected blob is more often one digit.
LOG_CUT_PRIOR = math.log(0.8)
_EPS = 1e-9


@dataclass(frozen=True)
class Step:
    """One edge of the chosen path: candidate ``candidate``; ``digit`` None when it is noise."""

    candidate: int
    digit: int | None
    prob: float
    score: float = 0.0  #: the log score this edge added to the path (priors included)


def best_path(
    n_segments: int,
    spans: list[tuple[int, int]],
    probs: npt.NDArray[np.floating],
    priors: list[float] | None = None,
    cuts: list[int] | None = None,
    noise: list[float] | None = None,
) -> list[Step]:
    """The best path from node 0 to ``n_segments`` through candidate ``spans`` scored by ``probs``.

    ``spans[k] = (start, end)`` of candidate ``k`` whose class probabilities are ``probs[k]``;
    ``priors[k]`` is added to its score as a digit (log shape prior, see ``oversegment``);
    ending a piece at one of the ``cuts`` nodes (a cut through connected ink) costs
    ``LOG_CUT_PRIOR``; ``noise[k]`` is the log-prior of candidate ``k`` being a stray mark
    (default ``LOG_NOISE_PRIOR``).
    Node gaps not covered by any candidate are bridged as noise with the prior only.
    """
    if n_segments == 0:
        return []
    best = np.full(n_segments + 1, -np.inf)
    best[0] = 0.0
    back: list[tuple[int, Step | None]] = [(-1, None)] * (n_segments + 1)
    cut_cost = np.zeros(n_segments + 1)
    for c in cuts or ():
        cut_cost[c] = LOG_CUT_PRIOR
    by_end: dict[int, list[int]] = {}
    for k, (_, e) in enumerate(spans):
        by_end.setdefault(e, []).append(k)
    for j in range(1, n_segments + 1):
        for k in by_end.get(j, []):
            i = spans[k][0]
            if best[i] == -np.inf:
                continue
            p = probs[k]
            d = int(np.argmax(p[:NOT_A_DIGIT]))
            digit_score = math.log(max(float(p[d]), _EPS)) + (priors[k] if priors else 0.0)
            noise_score = math.log(max(float(p[NOT_A_DIGIT]), _EPS)) + (
                noise[k] if noise else LOG_NOISE_PRIOR
            )
            # Only single segments may be noise: a digit glued to a stray mark must not vanish.
            if digit_score >= noise_score or spans[k][1] - i > 1:
                step, score = Step(k, d, float(p[d]), digit_score + cut_cost[j]), digit_score
            else:
                step = Step(k, None, float(p[NOT_A_DIGIT]), noise_score + cut_cost[j])
                score = noise_score
            score += cut_cost[j]
            if best[i] + score > best[j]:
                best[j] = best[i] + score
                back[j] = (i, step)
        if best[j] == -np.inf and best[j - 1] > -np.inf:
            best[j] = best[j - 1] + LOG_NOISE_PRIOR * 4
            back[j] = (j - 1, None)
    path: list[Step] = []
    j = n_segments
    while j > 0:
        i, taken = back[j]
        if taken is not None:
            path.append(taken)
        j = i
    path.reverse()
    return path


def best_comb_path(
    cells: list[tuple[int, int]],
    spans: list[tuple[int, int]],
    probs: npt.NDArray[np.floating],
    noise: list[float] | None = None,
) -> list[Step]:
    """The best path with at most one digit per comb cell (``cells``: segment ranges).

    Within a cell the ordinary path may drop stray marks as noise; should it read two digits in
    one cell, the whole cell is read as one digit instead (the one-digit-per-cell prior).
    """
    path: list[Step] = []
    for a, b in cells:
        ks = [k for k, (s, e) in enumerate(spans) if a <= s and e <= b]
        local = best_path(
            b - a,
            [(spans[k][0] - a, spans[k][1] - a) for k in ks],
            probs[ks],
            noise=[noise[k] for k in ks] if noise else None,
        )
        steps = [Step(ks[st.candidate], st.digit, st.prob) for st in local]
        if sum(st.digit is not None for st in steps) > 1:
            whole = next(k for k in ks if spans[k] == (a, b))
            p = probs[whole]
            d = int(np.argmax(p[:NOT_A_DIGIT]))
            steps = [Step(whole, d, float(p[d]))]
        path.extend(steps)
    return path


def top3(p: npt.NDArray[np.floating]) -> list[tuple[int, float]]:
    """The three most likely digits with their probabilities."""
    digits = np.asarray(p[:NOT_A_DIGIT], dtype=np.float64)
    order = np.argsort(-digits)[:3]
    return [(int(d), float(digits[d])) for d in order]
