"""Pick the best reading of a field: dynamic programming over the segment graph.

Nodes are the boundaries between consecutive segments; every candidate piece spanning segments
``[i, j)`` is an edge ``i -> j``, taken either as a digit (score: log-probability of its best
digit) or, for a single segment, as noise (score: log-probability of "not a digit" plus a small
penalty so real ink is not thrown away lightly). The best path maximises the summed
log-probabilities, i.e. the probability that every chosen piece is what we say it is. The best
score is kept for every number of digits read too: how close another length comes says how sure
the reading is of its length (``Reading.length_confidence``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from digitize.types import NOT_A_DIGIT, Box

#: Log-prior of calling a piece noise; keeps the path from discarding faint but real digits.
LOG_NOISE_PRIOR = math.log(0.5)
#: Log-prior of cutting through connected ink: one connected blob is more often one digit.
#: Constant: costs by the strokes a cut crosses, and other values, were no better on validation
#: pages (docs/experiments.md).
LOG_CUT_PRIOR = math.log(0.8)
_EPS = 1e-9


@dataclass(frozen=True)
class Step:
    """One edge of the chosen path: candidate ``candidate``; ``digit`` None when it is noise."""

    candidate: int
    digit: int | None
    prob: float
    score: float = 0.0  #: the log score this edge added to the path (priors included)


Key = tuple[int, ...]  #: the digits a path reads


@dataclass(frozen=True)
class Reading:
    """The best path, the best path's score for every number of digits it could read, and the
    best score of every string it could read that the DP kept (the runners-up)."""

    steps: list[Step]
    length_scores: dict[int, float]
    strings: dict[Key, float] = field(default_factory=dict)
    #: the DP's table at the last node: string -> (score, previous node, step), per node
    table: list[dict[Key, tuple[float, int, Step | None]]] = field(
        default_factory=list, repr=False, compare=False
    )

    def path(self, key: Key) -> list[Step]:
        """The best path reading the string ``key`` (one of ``strings``)."""
        path: list[Step] = []
        j = len(self.table) - 1
        while j > 0:
            _, i, taken = self.table[j][key]
            if taken is not None:
                path.append(taken)
                if taken.digit is not None:
                    key = key[:-1]
            j = i
        path.reverse()
        return path

    @property
    def key(self) -> Key:
        """The string the best path reads."""
        return tuple(s.digit for s in self.steps if s.digit is not None)

    def runners_up(self) -> list[Key]:
        """The other strings, likeliest first, within ``MIN_LENGTH_MASS`` of the best one."""
        key = self.key
        if key not in self.strings:
            return []
        floor = self.strings[key] + math.log(MIN_LENGTH_MASS) / LENGTH_SHARPNESS
        others = [t for t, v in self.strings.items() if t != key and v >= floor]
        return sorted(others, key=self.strings.__getitem__, reverse=True)

    def confidence_of(self, key: Key) -> float:
        """``string_confidence`` of another of the ``strings``."""
        own = self.strings[key]
        return 1.0 / sum(math.exp(LENGTH_SHARPNESS * (v - own)) for v in self.strings.values())

    @property
    def string_confidence(self) -> float:
        """How sure the reading is of its string against the other ways the field segments:
        P(string) = 1 / sum over strings of exp(sharpness * (score - best score)). Another
        length is another string, so this is at most ``length_confidence``. A digit's own
        alternatives are in its probability already; here each piece reads as its best digit,
        so the strings differ by where the cuts go."""
        key = self.key
        return self.confidence_of(key) if key in self.strings else self.length_confidence

    @property
    def length_confidence(self) -> float:
        """How sure the reading is of its number of digits (see ``LENGTH_SHARPNESS``)."""
        n = len(self.key)
        own = self.length_scores.get(n)
        if own is None:
            return 1.0
        return 1.0 / sum(
            math.exp(LENGTH_SHARPNESS * (v - own)) for v in self.length_scores.values()
        )


#: How sharply the best reading's score margin over readings of another length turns into
#: confidence: P(length) = 1 / sum over lengths of exp(sharpness * (score - best score)).
#: A merge of two touching digits read as one sure 9 scores close to reading the two; a right
#: reading's margin is rarely that small. The same sharpness weighs the runners-up of other
#: strings (``Reading.string_confidence``). Fitted on validation pages (docs/experiments.md).
LENGTH_SHARPNESS = 8.0
#: A field's length rule (``min_digits``/``max_digits``) picks the best reading of an allowed
#: length, unless those lengths hold under this share of the length probability: then the
#: writing itself breaks the rule, and the field is left as read (and flagged for it), as
#: ``constrain.MIN_RULE_MASS`` does for the other rules.
MIN_LENGTH_MASS = 1e-3
#: Strings kept per path node and length (1 would be plain Viterbi): enough for the runners-up
#: that say how close another segmentation comes to reading another string.
STRINGS_KEPT = 4
RUNNER_UP_MARGIN = 2.0


def _allowed_lengths(scores: dict[int, float], lengths: tuple[int, int] | None) -> dict[int, float]:
    """The per-length scores a reading chooses among: those the rule allows, if likely enough."""
    if lengths is None:
        return scores
    lo, hi = lengths
    allowed = {n: v for n, v in scores.items() if lo <= n <= hi}
    if not allowed:
        return scores
    top = max(scores.values())
    weight = {n: math.exp(LENGTH_SHARPNESS * (v - top)) for n, v in scores.items()}
    if sum(weight[n] for n in allowed) / sum(weight.values()) < MIN_LENGTH_MASS:
        return scores
    return allowed


def read_field(
    n_segments: int,
    spans: list[tuple[int, int]],
    probs: npt.NDArray[np.floating],
    priors: list[float] | None = None,
    cuts: list[int] | None = None,
    noise: list[float] | None = None,
    lengths: tuple[int, int] | None = None,
) -> Reading:
    """The best path from node 0 to ``n_segments`` through candidate ``spans`` scored by ``probs``,
    the best score for every number of digits read, and the runner-up strings (a DP over node
    and string read so far, ``STRINGS_KEPT`` strings of each length kept at each node).

    ``spans[k] = (start, end)`` of candidate ``k`` whose class probabilities are ``probs[k]``;
    ``priors[k]`` is added to its score as a digit (log shape prior, see ``oversegment``);
    ending a piece at one of the ``cuts`` nodes (a cut through connected ink) costs
    ``LOG_CUT_PRIOR``; ``noise[k]`` is the log-prior of candidate ``k`` being a stray mark
    (default ``LOG_NOISE_PRIOR``). ``lengths`` ``(lo, hi)``: the field's rule on how many digits
    it holds; the reading keeps to it (see ``MIN_LENGTH_MASS``), and its length confidence is
    then among the allowed lengths only.
    Node gaps not covered by any candidate are bridged as noise with the prior only.
    """
    if n_segments == 0:
        return Reading([], {0: 0.0}, {(): 0.0})
    # best[j][s]: (score, previous node, step) of the best path to node j reading string s.
    best: list[dict[Key, tuple[float, int, Step | None]]] = [{} for _ in range(n_segments + 1)]
    best[0][()] = (0.0, -1, None)
    cut_cost = [0.0] * (n_segments + 1)
    for c in cuts or ():
        cut_cost[c] = LOG_CUT_PRIOR
    by_end: dict[int, list[int]] = {}
    for k, (_, e) in enumerate(spans):
        by_end.setdefault(e, []).append(k)
    # Plain floats and lists: the same values as numpy's scalars, without their per-item cost.
    rows = np.asarray(probs).tolist()
    digits = np.argmax(np.asarray(probs)[:, :NOT_A_DIGIT], axis=1).tolist() if spans else []

    for j in range(1, n_segments + 1):
        here = best[j]
        for k in by_end.get(j, []):
            i = spans[k][0]
            if not best[i]:
                continue
            p, d = rows[k], digits[k]
            digit = math.log(max(p[d], _EPS)) + (priors[k] if priors else 0.0)
            digit += cut_cost[j]
            as_digit = Step(k, d, p[d], digit)
            as_noise = None
            if j - i == 1:  # only single segments may be noise: a digit glued to a mark must stay
                nz = math.log(max(p[NOT_A_DIGIT], _EPS)) + (noise[k] if noise else LOG_NOISE_PRIOR)
                sure = _noise_posterior(p[NOT_A_DIGIT], nz, priors, k)
                as_noise = Step(k, None, sure, nz + cut_cost[j])
            for s, (score, _, _) in best[i].items():
                t, v = (*s, d), score + digit
                old = here.get(t)
                if old is None or v > old[0]:
                    here[t] = (v, i, as_digit)
                if as_noise is not None:
                    v = score + as_noise.score
                    old = here.get(s)
                    if old is None or v > old[0]:
                        here[s] = (v, i, as_noise)
        if not here:
            for s, (score, _, _) in best[j - 1].items():
                here[s] = (score + LOG_NOISE_PRIOR * 4, j - 1, None)
        _keep_best_strings(here)
    end = best[n_segments]
    if not end:
        return Reading([], {})
    per_length: dict[int, float] = {}
    for s, (score, _, _) in end.items():
        per_length[len(s)] = max(score, per_length.get(len(s), -math.inf))
    scores = _allowed_lengths(per_length, lengths)
    strings = {s: v[0] for s, v in end.items() if len(s) in scores}
    s = max(strings, key=lambda t: (strings[t], len(t)))  # ties go to the reading with more digits
    reading = Reading([], scores, strings, best)
    return replace(reading, steps=reading.path(s))


def _noise_posterior(
    p_noise: float, noise_score: float, priors: list[float] | None, k: int
) -> float:
    """How sure the reading is that candidate ``k`` is a stray mark: its noise score against its
    score as any digit, both with their priors. The classifier sees a speck enlarged to a
    digit's size and calls it a sure 1; its size (the priors) says it is no digit."""
    as_digit = math.log(max(1.0 - p_noise, _EPS)) + (priors[k] if priors else 0.0)
    return 1.0 / (1.0 + math.exp(min(as_digit - noise_score, 700.0)))


def _keep_best_strings(node: dict[Key, tuple[float, int, Step | None]]) -> None:
    """Keep each length's best string read up to a node (the best path of every length, as a
    plain Viterbi search finds it) and up to ``STRINGS_KEPT`` - 1 runners-up of that length
    that score within ``RUNNER_UP_MARGIN`` of the node's best (farther ones would weigh under
    1e-7 in a confidence, and a long string of marks has dozens of lengths to carry)."""
    if len(node) <= 1:
        return
    order = sorted(node.items(), key=lambda kv: kv[1][0], reverse=True)
    floor = order[0][1][0] - RUNNER_UP_MARGIN
    seen: dict[int, int] = {}
    for t, (v, _, _) in order:
        n = seen[len(t)] = seen.get(len(t), 0) + 1
        if n > STRINGS_KEPT or (n > 1 and v < floor):
            del node[t]


def best_comb_path(
    cells: list[tuple[int, int]],
    spans: list[tuple[int, int]],
    probs: npt.NDArray[np.floating],
    noise: list[float] | None = None,
    min_digits: int | None = None,
) -> list[Step]:
    """The best path with at most one digit per comb cell (``cells``: segment ranges).

    Within a cell the ordinary path may drop stray marks as noise; should it read two digits in
    one cell, the whole cell is read as one digit instead (the one-digit-per-cell prior). A field
    that must hold ``min_digits`` digits reads a digit in the inked cells it called noise, those
    that come closest first (as ``read_field`` keeps to a length rule).
    """
    per_cell: list[list[Step]] = []
    forced: list[tuple[float, int, list[Step]]] = []  # (score given up, cell, its one-digit path)
    for c, (a, b) in enumerate(cells):
        ks = [k for k, (s, e) in enumerate(spans) if a <= s and e <= b]
        reading = read_field(
            b - a,
            [(spans[k][0] - a, spans[k][1] - a) for k in ks],
            probs[ks],
            noise=[noise[k] for k in ks] if noise else None,
        )
        steps = [Step(ks[st.candidate], st.digit, st.prob) for st in reading.steps]
        if sum(st.digit is not None for st in steps) > 1:
            whole = next(k for k in ks if spans[k] == (a, b))
            p = probs[whole]
            d = int(np.argmax(p[:NOT_A_DIGIT]))
            steps = [Step(whole, d, float(p[d]))]
        ones = [t for t in reading.strings if len(t) == 1]
        if ones and not any(st.digit is not None for st in steps):
            one = max(ones, key=reading.strings.__getitem__)
            lost = reading.strings[reading.key] - reading.strings[one]
            path = [Step(ks[st.candidate], st.digit, st.prob) for st in reading.path(one)]
            forced.append((lost, c, path))
        per_cell.append(steps)
    missing = (min_digits or 0) - sum(st.digit is not None for cell in per_cell for st in cell)
    for lost, c, steps in sorted(forced)[: max(0, missing)]:
        if math.exp(-LENGTH_SHARPNESS * lost) >= MIN_LENGTH_MASS:
            per_cell[c] = steps
    return [st for cell in per_cell for st in cell]


def top3(p: npt.NDArray[np.floating]) -> list[tuple[int, float]]:
    """The three most likely digits with their probabilities."""
    digits = np.asarray(p[:NOT_A_DIGIT], dtype=np.float64)
    order = np.argsort(-digits)[:3]
    return [(int(d), float(digits[d])) for d in order]


#: A mark left unread between a number's digits at least this share of their height across.
INNER_MARK = 0.3


def marks_inside(path: list[Step], boxes: list[Box], separators: Sequence[bool] = ()) -> bool:
    """Whether ink read as a stray mark, as big as part of a digit (``INNER_MARK``), lies
    between digits of the reading: a digit written across two cells (its bar in one, its stem
    joined to the next digit) leaves such a piece, and the number is a digit short. A
    separator (``separators[k]``: a comma or point low in the line) is no such piece."""
    read = [k for k, s in enumerate(path) if s.digit is not None]
    if len(read) < 2:
        return False
    # boxes are the page's: a page fed sideways has its digits lying down, so their longer side
    tall = float(np.median([max(boxes[path[k].candidate][2:]) for k in read]))
    return any(
        max(boxes[s.candidate][2:]) >= INNER_MARK * tall
        for s in path[read[0] + 1 : read[-1]]
        if s.digit is None and not (separators and separators[s.candidate])
    )
