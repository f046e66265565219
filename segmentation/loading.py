"""Decode a scanned document (image or PDF bytes) into greyscale pages.

The type is taken from the bytes (magic numbers), never from the name: users rename files. Every
page's size is checked *before* it is decoded, so a decompression bomb costs a header read, not
gigabytes. Every failure is a ``BadInputError`` subclass whose message names the file.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from digitize.errors import (
    BadInputError,
    InputTooLargeError,
    UnsupportedFormatError,
)
from digitize.types import Page
from segmentation.page_limits import MAX_PAGES, TOTAL_PIXEL_FACTOR, check_page_size
from segmentation.pdf_pages import render_pdf

SUPPORTED = "PNG, JPEG, TIFF, PDF, BMP or WebP"


def sniff(data: bytes) -> str | None:
    """The format of ``data`` from its leading bytes, or None when it is none we read."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM") and len(data) >= 26:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in data[:1024]:  # the PDF spec lets junk precede the header
        return "pdf"
    return None


def _looks_like_text(data: bytes) -> str | None:
    sample = data[:4096]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if sum(c.isprintable() or c.isspace() for c in text) < 0.95 * len(text):
        return None
    low = text.lstrip().lower()
    if low.startswith(("<!doctype html", "<html")) or "<body" in low:
        return "an HTML page"
    if low.startswith("<?xml") or low.startswith("<svg"):
        return "an XML/SVG document"
    return "a text file"


def load_pages(
    data: bytes, source: str, *, dpi: int = 200, max_pixels: int = 120_000_000
) -> list[Page]:
    """Decode every page of ``data`` (named ``source`` in messages) as greyscale uint8, 1-based."""
    if not data:
        raise BadInputError("the file is empty (0 bytes)", source=source)
    kind = sniff(data)
    if kind is None:
        what = _looks_like_text(data)
        if what:
            raise UnsupportedFormatError(
                f"this is {what}, not a scan; expected {SUPPORTED}", source=source
            )
        raise UnsupportedFormatError(
            f"not a recognised image or PDF (the bytes match no {SUPPORTED} signature)",
            source=source,
        )
    if kind == "pdf":
        return render_pdf(data, source, dpi=dpi, max_pixels=max_pixels)
    return _load_raster(data, source, kind, max_pixels=max_pixels)


def _load_raster(data: bytes, source: str, kind: str, *, max_pixels: int) -> list[Page]:
    pages: list[Page] = []
    total = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                # Only TIFF pages are pages; animated WebP frames are not.
                frames = ImageSequence.Iterator(im) if kind == "tiff" else iter([im])
                for index, frame in enumerate(frames, start=1):
                    if index > MAX_PAGES:
                        raise InputTooLargeError(
                            f"more than {MAX_PAGES} pages in one file", source=source
                        )
                    w, h = frame.size
                    check_page_size(w, h, source, max_pixels, f"page {index}")
                    total += w * h
                    if total > TOTAL_PIXEL_FACTOR * max_pixels:
                        raise InputTooLargeError(
                            f"the pages together exceed {TOTAL_PIXEL_FACTOR * max_pixels / 1e6:.0f}"
                            " megapixels",
                            source=source,
                        )
                    grey = _fast_grey(data, frame) if kind in ("png", "jpeg") else None
                    if grey is None:
                        if kind == "jpeg" and frame.mode in ("RGB", "YCbCr"):
                            frame.draft("L", frame.size)  # libjpeg decodes luminance only
                        frame.load()
                        grey = to_grey(frame)
                    pages.append(Page(index, grey, source=source, dpi=_dpi_of(frame)))
    except BadInputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputTooLargeError(
            f"refused as a decompression bomb: the header claims an absurd size ({exc})",
            source=source,
        ) from exc
    except UnidentifiedImageError as exc:
        raise BadInputError(
            f"looks like {kind.upper()} but cannot be read (corrupt header)", source=source
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError) as exc:
        detail = str(exc) or type(exc).__name__
        raise BadInputError(
            f"the {kind.upper()} data is damaged or truncated ({detail})", source=source
        ) from exc
    except MemoryError as exc:
        raise InputTooLargeError("decoding needs more memory than we have", source=source) from exc
    if not pages:
        raise BadInputError(f"the {kind.upper()} file holds no page", source=source)
    return pages


def _fast_grey(data: bytes, im: Image.Image) -> npt.NDArray[np.uint8] | None:
    """A plain 8-bit PNG straight to grey by OpenCV (~20 % faster than Pillow), else None.

    Only where Pillow's path would give the same pixels: no alpha, no 16-bit, no EXIF block
    (an eXIf chunk ahead of the image data, where the PNG spec puts it).
    A damaged file makes OpenCV return None; Pillow then decodes it or says what is wrong.
    JPEG stays with Pillow, which refuses a truncated file where libjpeg would pad it with grey.
    """
    if im.format != "PNG" or im.mode not in ("L", "RGB") or "transparency" in im.info:
        return None
    if "exif" in im.info:  # may turn the page; im.getexif() would decode the image to look
        return None
    flags = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION
    grey = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if grey is None or grey.shape != (im.height, im.width):
        return None
    return grey


def _dpi_of(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return value if 10 <= value <= 10_000 else None


def to_grey(im: Image.Image) -> npt.NDArray[np.uint8]:
    """Any Pillow image (1-bit … 16-bit, palette, alpha, CMYK, EXIF-rotated) as upright grey."""
    im = ImageOps.exif_transpose(im) or im
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Integer shifts, not float copies: a 100-megapixel 16-bit scan must not cost gigabytes.
        a = np.asarray(im)
        top = float(a.max()) if a.size else 0.0
        if mode.startswith("I;16") or (mode == "I" and 255 < top <= 65535):
            return np.ascontiguousarray((a.astype(np.uint16) >> 8).astype(np.uint8))
        if top > 255:
            return np.ascontiguousarray((a.astype(np.float32) * (255.0 / top)).astype(np.uint8))
        return np.ascontiguousarray(np.clip(a, 0, 255).astype(np.uint8))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    if mode == "CMYK":
        im = im.convert("RGB")
    grey = im.convert("L")
    return np.ascontiguousarray(np.asarray(grey, dtype=np.uint8))
