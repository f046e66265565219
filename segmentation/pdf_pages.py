"""PDF pages rendered with PDFium, each page's pixel size checked before it is rendered."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from digitize.errors import BadInputError, EncryptedInputError, InputTooLargeError
from digitize.types import Page
from segmentation.page_limits import MAX_PAGES, TOTAL_PIXEL_FACTOR, check_page_size

# PDFium is not thread-safe; one document at a time per process.
_LOCK = threading.Lock()


def render_pdf(data: bytes, source: str, *, dpi: int, max_pixels: int) -> list[Page]:
    """Render every page of a PDF at ``dpi`` as greyscale."""
    pages: list[Page] = []
    with _LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            if code == pdfium_c.FPDF_ERR_PASSWORD:
                raise EncryptedInputError(
                    "the PDF is password-protected; save an unprotected copy and submit that",
                    source=source,
                ) from exc
            if code == pdfium_c.FPDF_ERR_SUCCESS:  # PDFium found no usable page tree
                raise BadInputError(
                    "the PDF has no pages (its page tree is empty)", source=source
                ) from exc
            raise BadInputError(f"the PDF is damaged or truncated ({exc})", source=source) from exc
        try:
            count = len(doc)
            if count == 0:
                raise BadInputError("the PDF has no pages", source=source)
            if count > MAX_PAGES:
                raise InputTooLargeError(
                    f"the PDF has {count} pages, more than {MAX_PAGES}", source=source
                )
            scale = dpi / 72.0
            total = 0
            sizes = []
            for i in range(count):  # check all sizes before rendering anything
                page = doc[i]
                try:
                    wpt, hpt = page.get_size()
                finally:
                    page.close()
                w, h = round(wpt * scale), round(hpt * scale)
                check_page_size(w, h, source, max_pixels, f"page {i + 1} at {dpi} dpi")
                total += w * h
                sizes.append((w, h))
            if total > TOTAL_PIXEL_FACTOR * max_pixels:
                raise InputTooLargeError(
                    f"the {count} pages at {dpi} dpi exceed "
                    f"{TOTAL_PIXEL_FACTOR * max_pixels / 1e6:.0f} megapixels together",
                    source=source,
                )
            for i in range(count):
                page = doc[i]
                try:
                    # Colour rendering then conversion is about twice as fast as grayscale=True.
                    bitmap = page.render(scale=scale)
                    arr = bitmap.to_numpy()
                    bitmap.close()
                except pdfium.PdfiumError as exc:
                    raise BadInputError(
                        f"page {i + 1} of the PDF cannot be rendered ({exc})", source=source
                    ) from exc
                finally:
                    page.close()
                pages.append(Page(i + 1, _grey(arr), source=source, dpi=float(dpi)))
        finally:
            doc.close()
    return pages


def _grey(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.shape[2] == 1:
        return np.ascontiguousarray(arr[:, :, 0], dtype=np.uint8)
    code = cv2.COLOR_BGRA2GRAY if arr.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return np.ascontiguousarray(cv2.cvtColor(arr, code), dtype=np.uint8)
