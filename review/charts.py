"""Server-rendered SVG charts: no JavaScript chart library, nothing to build."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def histogram_svg(
    counts: Sequence[int], *, threshold: float | None = None, width: int = 900, height: int = 220
) -> Markup:
    """Bars for equal-width confidence bins over [0, 1]; bins below ``threshold`` drawn red."""
    n = len(counts)
    left, right, top, bottom = 48, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts) if counts and max(counts) > 0 else 1
    parts: list[str] = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="confidence histogram" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{round(peak * frac)}</text>'
        )
    bw = plot_w / n if n else plot_w
    for i, c in enumerate(counts):
        h = plot_h * c / peak
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
            f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
