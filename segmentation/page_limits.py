"""Limits every decoder checks before it decodes: page count, pixels per page, pixels in all.

A decompression bomb must cost a header read, not gigabytes, whatever format carries it.
"""

from __future__ import annotations

from digitize.errors import BadInputError, InputTooLargeError

#: Pages of one document, all pages together: a ~500-page A4 PDF at 200 dpi fits, more is refused.
MAX_PAGES = 2000
#: All pages of one document together may hold this many times ``max_pixels``.
TOTAL_PIXEL_FACTOR = 16


def check_page_size(width: int, height: int, source: str, max_pixels: int, what: str) -> None:
    """Refuse a page with no pixels or with more than ``max_pixels`` (named ``what``)."""
    if width <= 0 or height <= 0:
        raise BadInputError(f"{what} has no pixels ({width}×{height})", source=source)
    if width * height > max_pixels:
        raise InputTooLargeError(
            f"{what} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), over "
            f"the limit of {max_pixels / 1e6:.0f} megapixels (a decompression bomb or an absurd "
            "scan resolution)",
            source=source,
        )
