"""Template-free: which way up a page reads, and the strings that depend on it.

Every string is read both upright and upside down from the same crops; the page turns when its
handwritten strings read likelier turned (``flip_gain`` over ``FLIP_MARGIN``). Some numbers read
as sure numbers either way (86 and 98, 988 and 886, 1001): on a page whose vote came close, such
a string goes to review (``WAY_UP_IN_DOUBT``), since a wrong turn reads it wrong with confidence.
The page's print has a say too (``print_lean``): Latin print rises above its lines more than it
hangs below them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from digitize.types import Box, FieldResult

#: An upside-down reading must beat the upright one by this much (log-likelihood) to be taken.
FLIP_MARGIN = 1.0
#: No one string's vote on turning the page counts for more than this (log-likelihood).
FLIP_VOTE_MAX = 3.0
#: A vote within this of ``FLIP_MARGIN`` (log-likelihood, one string's full say) is close.
WAY_UP_DOUBT = 2.0
#: Review reason: the page's way up was in doubt and this string reads as a sure number turned
#: too, as another number.
WAY_UP_IN_DOUBT = "way_up_in_doubt"
#: A reading this likely or more is a sure one (votes, and strings that read both ways).
SURE = 0.5
#: A voter under this share of the tallest voter's height has no say (print, specks).
VOTER_SHARE = 0.5


class Sized(Protocol):
    @property
    def digit_height(self) -> float: ...


P = TypeVar("P", bound=Sized)


def _sure(r: FieldResult) -> bool:
    return bool(r.value) and r.confidence >= SURE


#: Digits that upside down read as themselves: a string of these says little about its way up,
#: and has at most this say.
SELF_TURNING = frozenset("018")
SELF_TURNING_VOTE_MAX = 1.0


def _turns_into_itself(a: FieldResult, b: FieldResult) -> bool:
    """Both readings made of 0s, 1s and 8s only (a ring and a stroke read "0" one way and "01"
    the other): what differs is where the cuts fell, not which way up the writing is."""
    return set(a.value) <= SELF_TURNING and set(b.value) <= SELF_TURNING


#: A text line this many times as long as it is high or more, and at most ``PRINT_LINE_SIZE`` of
#: the page's tall strings (the 75th percentile of string heights), is a line of print.
PRINT_LINE_ASPECT, PRINT_LINE_SIZE = 3.0, 0.6
#: The print's say on turning the page: its lean times this, at most ``FLIP_VOTE_MAX``. On 120
#: corpus pages (8 a family) the lean's sign was right on 114, and on all 97 where it was over
#: 0.4 either way.
PRINT_WEIGHT = 2.0


def print_lean(lines: Sequence[tuple[Box, npt.NDArray[np.uint8]]]) -> float:
    """How upright the page's print stands: log of (ink above its lines' x-height band + 1) over
    (ink below it + 1), summed over the page's lines of print (``lines``: every text string's
    box and ink). Capitals and ascenders (b, d, h, k, l, t) rise above the band far more often
    than descenders (g, p, q, y) hang below it, so upside down the lean turns negative.
    Handwritten numbers fill their height and are left out by size; 0 where there is no print.
    """
    heights = [b[3] for b, _ in lines]
    if not heights:
        return 0.0
    tall = float(np.percentile(heights, 75))
    above = below = 0.0
    for (_, _, w, h), ink in lines:
        if h < 6 or w < PRINT_LINE_ASPECT * h or h > PRINT_LINE_SIZE * tall:
            continue
        rows = (ink > 0).sum(axis=1)
        band = np.flatnonzero(rows >= 0.5 * rows.max())
        above += float(rows[: band[0]].sum())
        below += float(rows[band[-1] + 1 :].sum())
    return float(np.log((above + 1.0) / (below + 1.0)))


def _voters(
    plans: Sequence[P], upright: list[FieldResult], turned: list[FieldResult]
) -> list[tuple[P, FieldResult, FieldResult]]:
    """The strings read with some confidence one way or the other, and not alike both ways."""
    return [
        (fp, a, b)
        for fp, a, b in zip(plans, upright, turned, strict=True)
        if (_sure(a) or _sure(b)) and a.value != b.value
    ]


def _tallest(voters: Sequence[tuple[Sized, FieldResult, FieldResult]]) -> float:
    """The voters' yardstick: a rule reads as 1s (or as nothing one way), and must not set it."""
    return max(
        (fp.digit_height for fp, a, b in voters if (a.value + b.value).strip("1")), default=0.0
    )


def flip_gain(
    plans: Sequence[Sized],
    upright: list[FieldResult],
    turned: list[FieldResult],
    lean: float = 0.0,
) -> float:
    """How much likelier the page reads upside down, judged on its big (handwritten) strings.

    Only strings read with some confidence one way or the other take part: a big non-digit
    (a rule, a border, a drawing) reads as junk both ways and must not set the yardstick. Of
    those, small strings (printed captions, specks) would only add noise; the yardstick is the
    tallest string read as more than 1s (a long rule reads as a sure 1, or as nothing one way,
    and would leave every number out). Each string's say is at most ``FLIP_VOTE_MAX``
    (log-likelihood): a caption read as junk one way and as something the other must not
    outvote the numbers. A string that reads the same both ways (a check box read as 0, a
    rule as 1) cannot tell which way up the page is, and has no vote; one read as 0s, 1s and 8s
    both ways tells little, and has at most ``SELF_TURNING_VOTE_MAX``. The print's ``lean``
    (``print_lean``) votes against turning, with at most one string's say.
    """
    voters = _voters(plans, upright, turned)
    return _gain(voters, _tallest(voters), lean)


def _gain(
    voters: Sequence[tuple[Sized, FieldResult, FieldResult]], tallest: float, lean: float
) -> float:
    """``flip_gain`` of ``voters``, those under ``VOTER_SHARE`` of ``tallest`` left out."""
    gain = float(np.clip(-PRINT_WEIGHT * lean, -FLIP_VOTE_MAX, FLIP_VOTE_MAX))
    for fp, a, b in voters:
        if fp.digit_height >= VOTER_SHARE * tallest:
            say = float(np.log(max(b.confidence, 1e-30)) - np.log(max(a.confidence, 1e-30)))
            most = SELF_TURNING_VOTE_MAX if _turns_into_itself(a, b) else FLIP_VOTE_MAX
            gain += min(most, max(-most, say))
    return gain


def _turns(gain: float) -> bool:
    """Whether a page with this ``flip_gain`` is read upside down."""
    return gain > FLIP_MARGIN


def _close(gain: float) -> bool:
    """Whether the vote came close (its strings that read as other sure numbers are flagged)."""
    return abs(gain - FLIP_MARGIN) < WAY_UP_DOUBT


def choose_way_up(
    plans: list[P],
    upright: list[FieldResult],
    turned_plans: list[P],
    turned: list[FieldResult],
    lean: float = 0.0,
) -> tuple[list[FieldResult], list[P]]:
    """The page's strings the likelier way up, with their plans. ``turned[k]`` and
    ``turned_plans[k]`` are string ``-1 - k`` read upside down; ``lean``: the page's print's
    (``print_lean``). On a close vote, a string that reads as another sure number the other way
    is flagged ``WAY_UP_IN_DOUBT``."""
    back = turned[::-1]
    gain = flip_gain(plans, upright, back, lean)
    if _turns(gain):
        out, chosen, other = turned, turned_plans, upright[::-1]
    else:
        out, chosen, other = upright, plans, back
    if _close(gain):
        for f, o in zip(out, other, strict=True):
            if _sure(f) and _sure(o) and o.value != f.value:
                f.flag(WAY_UP_IN_DOUBT)
    return out, chosen


#: Strings under this share of the page's tallest string's height are read upside down only when
#: the way up is not plain without them (``upright_settled``): on the corpus they are mostly
#: print, and three quarters of a form's crops.
TALL_SHARE = 0.5


def read_first(plans: Sequence[Sized]) -> list[int]:
    """Which strings are read upside down first (``k``: string ``-1 - k`` turned, as
    ``choose_way_up`` takes them): those ``TALL_SHARE`` of the page's tallest string or more."""
    top = max((fp.digit_height for fp in plans), default=0.0)
    n = len(plans)
    return [k for k in range(n) if plans[n - 1 - k].digit_height >= TALL_SHARE * top]


def upright_settled(
    plans: Sequence[Sized],
    upright: list[FieldResult],
    turned: list[FieldResult],
    lean: float,
    others: float | None,
) -> bool:
    """Whether ``choose_way_up`` would keep the page upright and flag nothing, judged on some of
    its strings (``plans``, read ``upright`` and ``turned``, aligned): it would, with the same
    figures, when the other strings (``others``: the tallest one's height; None, none) all
    stand under ``VOTER_SHARE`` of the tallest voter's height, where they have no vote."""
    voters = _voters(plans, upright, turned)
    tallest = _tallest(voters)
    if others is not None and others >= VOTER_SHARE * tallest:
        return False
    gain = _gain(voters, tallest, lean)
    return not _turns(gain) and not _close(gain)


def settle_way_up(
    plans: list[P],
    upright: list[FieldResult],
    turned_plans: list[P],
    read_turned: Callable[[list[int]], list[FieldResult]],
    lean: float = 0.0,
) -> tuple[list[FieldResult], list[P]]:
    """``choose_way_up``, with the strings read upside down only as far as the choice needs
    (``read_turned(ks)``: the readings of ``turned_plans[k]`` for each ``k``): the tall ones
    first (``read_first``), the rest only when the page may turn or the vote is close. The
    same strings and flags come out; a plainly upright page spares most of its crops a second
    reading."""
    n = len(plans)
    first = read_first(plans)
    got = dict(zip(first, read_turned(first), strict=True))
    rest = [k for k in range(n) if k not in got]
    others = max((plans[n - 1 - k].digit_height for k in rest), default=None)
    idx = [n - 1 - k for k in first]
    subset = ([plans[i] for i in idx], [upright[i] for i in idx], [got[k] for k in first])
    if upright_settled(*subset, lean, others):
        return upright, plans
    got.update(zip(rest, read_turned(rest), strict=True))
    return choose_way_up(plans, upright, turned_plans, [got[k] for k in range(n)], lean)
