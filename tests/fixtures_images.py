"""Fixtures for the images tests: generated scans, hostile files, templates (nothing downloaded).

``good_files()`` and ``hostile_files()`` return ``{name: bytes}`` so the job tests can drop the very
same files into a folder.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from model.training import synthetic


def page_image(width: int = 400, height: int = 560, seed: int = 0) -> np.ndarray:
    """A small grey 'form': title bar, boxes and digits; asymmetric, so rotation shows."""
    rng = np.random.default_rng(seed)
    im = np.full((height, width), 255, np.uint8)
    cv2.rectangle(im, (20, 20), (width - 20, 60), 0, 2)
    cv2.putText(im, "FORM 7", (30, 52), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    for i in range(4):
        y = 100 + 90 * i
        cv2.rectangle(im, (40, y), (40 + int(rng.integers(150, 300)), y + 50), 0, 2)
        cv2.putText(im, str(1234 * (i + 1)), (50, y + 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 60, 3)
    return im


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A minimal PDF with a correct cross-reference table (for hand-made edge cases)."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1)
    out += trailer_extra + b">>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def encrypted_pdf() -> bytes:
    """A PDF under the standard security handler whose user password is not empty."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + b"ab" * 32
        + b"> /U <"
        + b"cd" * 32
        + b"> /P -4 >>",
    ]
    ident = b"<" + b"01" * 16 + b">"
    return build_pdf(objs, b"/Encrypt 4 0 R /ID [" + ident + b" " + ident + b"] ")


def zero_page_pdf() -> bytes:
    return build_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A ~1 MB PNG that claims 900 megapixels of 1-bit white: a decompression bomb."""
    raw_row = b"\x00" + b"\xff" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(raw_row) for _ in range(height)) + comp.flush()

    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
        return len(payload).to_bytes(4, "big") + tag + payload + crc.to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def sideways_jpeg() -> bytes:
    """A page stored rotated 90° with EXIF Orientation=6 ("rotate 90° CW to view")."""
    upright = Image.fromarray(page_image())
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise on disk
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=92, exif=exif.tobytes())


def good_files() -> dict[str, tuple[bytes, int]]:
    """Awkward but valid scans: ``{name: (bytes, page count)}``."""
    grey = Image.fromarray(page_image())
    pages = [Image.fromarray(page_image(seed=s)) for s in range(3)]
    rgb = grey.convert("RGB")
    sixteen = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    tiff_buf = io.BytesIO()
    pages[0].save(
        tiff_buf, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw"
    )
    g4_buf = io.BytesIO()
    bw = [p.point(lambda v: 255 if v > 128 else 0).convert("1") for p in pages[:2]]
    bw[0].save(g4_buf, format="TIFF", save_all=True, append_images=bw[1:], compression="group4")
    pdf_buf = io.BytesIO()
    pages[0].save(pdf_buf, format="PDF", save_all=True, append_images=pages[1:], resolution=100)
    return {
        "grey.png": (encode(grey, "PNG"), 1),
        "colour.jpg": (encode(rgb, "JPEG", quality=90), 1),
        "cmyk.jpg": (encode(rgb.convert("CMYK"), "JPEG", quality=90), 1),
        "sixteen-bit.png": (encode(sixteen, "PNG"), 1),
        "one-bit.png": (encode(bw[0], "PNG"), 1),
        "multi page lzw.tiff": (tiff_buf.getvalue(), 3),
        "fax group4.tif": (g4_buf.getvalue(), 2),
        "three pages.pdf": (pdf_buf.getvalue(), 3),
        "scan.bmp": (encode(rgb, "BMP"), 1),
        "scan.webp": (encode(rgb, "WEBP", quality=90), 1),
        "palette.gif.png": (encode(grey.convert("P"), "PNG"), 1),
        "rgba.png": (encode(rgb.convert("RGBA"), "PNG"), 1),
        "actually a jpeg.png": (encode(rgb, "JPEG"), 1),
        "blank page.png": (encode(Image.new("L", (400, 560), 255), "PNG"), 1),
        "scanner noise.png": (encode(Image.fromarray(_noise_page()), "PNG"), 1),
        "sideways exif.jpg": (sideways_jpeg(), 1),
        "éàü accents and spaces.png": (encode(Image.fromarray(page_image(seed=5)), "PNG"), 1),
    }


def _noise_page() -> np.ndarray:
    """A page of scanner grain and nothing else."""
    rng = np.random.default_rng(7)
    return np.clip(rng.normal(235, 25, (560, 400)), 0, 255).astype(np.uint8)


def too_small_pictures() -> dict[str, tuple[bytes, int]]:
    """Decodable pictures too small to be a page: the loader takes them, the page reader not."""
    return {
        "tiny 1x1.png": (encode(Image.new("L", (1, 1), 255), "PNG"), 1),
        "thumbnail.jpg": (encode(Image.fromarray(page_image()).resize((30, 42)), "JPEG"), 1),
    }


def hostile_files() -> dict[str, tuple[bytes, str]]:
    """Bad inputs: ``{name: (bytes, expected error class name)}``."""
    png = encode(Image.fromarray(page_image()), "PNG")
    jpeg = encode(Image.fromarray(page_image()), "JPEG")
    tiff = encode(Image.fromarray(page_image()), "TIFF", compression="tiff_lzw")
    rng = np.random.default_rng(1)
    return {
        "empty.png": (b"", "BadInputError"),
        "truncated.png": (png[: len(png) // 2], "BadInputError"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "BadInputError"),
        "truncated.tiff": (tiff[: len(tiff) // 3], "BadInputError"),
        "header-only.png": (png[:40], "BadInputError"),
        "random bytes.png": (rng.bytes(5000), "UnsupportedFormatError"),
        "text.jpg": (b"Dear customer,\nplease find attached...\n" * 20, "UnsupportedFormatError"),
        "page.pdf": (
            b"<!DOCTYPE html><html><body>Not found</body></html>",
            "UnsupportedFormatError",
        ),
        "zero pages.pdf": (zero_page_pdf(), "BadInputError"),
        "truncated.pdf": (b"%PDF-1.4\n1 0 obj\n<< /Type /Cat", "BadInputError"),
        "locked.pdf": (encrypted_pdf(), "EncryptedInputError"),
        "bomb.png": (png_bomb(), "InputTooLargeError"),
    }


@pytest.fixture(scope="session")
def form_templates(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Template JSON files (with reference PNGs) for every synthetic layout."""
    out = tmp_path_factory.mktemp("templates")
    return synthetic.write_templates(out)


@pytest.fixture(scope="session")
def font_digits() -> synthetic.DigitSource:
    """Handwriting-like digits drawn with a script font (no dataset needed)."""
    return synthetic.font_digit_source(seed=0)
