"""Server-rendered SVG charts: no JavaScript chart library, nothing to build."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape


def _log_ticks(peak: int) -> list[int]:
    """0, 1, 10, 100, … up to the decade holding ``peak``."""
    ticks, t = [0, 1], 10
    while t <= peak:
        ticks.append(t)
        t *= 10
    return ticks


def histogram_svg(
    counts: Sequence[int],
    *,
    threshold: float | None = None,
    width: int = 900,
    height: int = 220,
    log: bool = False,
) -> Markup:
    """Bars for equal-width confidence bins over [0, 1]; bins below ``threshold`` drawn red.

    With ``log``, bar heights follow log10(1 + count): a bin of 3 fields under the threshold stays
    visible beside a bin of 90,000 above it.
    """
    n = len(counts)
    left, right, top, bottom = 56, 12, 18, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts) if counts and max(counts) > 0 else 1

    def scale(c: float) -> float:
        if log:
            return math.log10(1 + c) / math.log10(1 + peak)
        return c / peak

    label = "confidence histogram" + (" (log count scale)" if log else "")
    parts: list[str] = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    ticks = _log_ticks(peak) if log else [0, round(peak / 2), peak]
    if log and ticks[-1] != peak:
        ticks.append(peak)
    for t in ticks:
        y = top + plot_h * (1 - scale(t))
        parts.append(
            f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t:,}</text>')
    bw = plot_w / n if n else plot_w
    for i, c in enumerate(counts):
        h = plot_h * scale(c)
        x = left + i * bw
        below = threshold is not None and (i + 1) / n <= threshold + 1e-9
        cls = "bar-rect below" if below else "bar-rect"
        lo, hi = i / n, (i + 1) / n
        parts.append(
            f'<rect class="{cls}" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(bw - 2, 1):.1f}" height="{h:.1f}">'
            f"<title>{escape(f'{lo:.2f}–{hi:.2f}: {c} fields')}</title></rect>"
        )
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + plot_w * frac
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{frac:.2f}</text>')
    if threshold is not None:
        x = left + plot_w * threshold
        parts.append(
            f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" '
            f'y1="{top - 6}" y2="{top + plot_h}"/>'
        )
        anchor = "end" if threshold > 0.5 else "start"
        dx = -4 if threshold > 0.5 else 4
        parts.append(
            f'<text class="threshold-label" x="{x + dx:.1f}" y="{top - 6}" '
            f'text-anchor="{anchor}">review threshold {threshold * 100:.0f} %</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
