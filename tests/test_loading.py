"""load_pages: every format we promise, awkward good files, and every kind of bad file."""

from __future__ import annotations

import io
import resource
import time

import numpy as np
import pytest
from PIL import Image

from digitize import errors
from segmentation.loading import load_pages, sniff
from tests.fixtures_images import encode, good_files, hostile_files, page_image

GOOD = good_files()
HOSTILE = hostile_files()


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_files_load_every_page(name: str) -> None:
    data, count = GOOD[name]
    pages = load_pages(data, name)
    assert [p.number for p in pages] == list(range(1, count + 1))
    for p in pages:
        assert p.image.dtype == np.uint8 and p.image.ndim == 2
        assert p.source == name
        if name not in ("blank page.png", "scanner noise.png"):  # ink on white paper
            assert p.image.min() < 80 and p.image.max() > 200


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_bad_files_raise_a_typed_error_naming_the_file(name: str) -> None:
    data, expected = HOSTILE[name]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(errors.BadInputError) as info:
        load_pages(data, name)
    assert type(info.value).__name__ == expected
    assert name in str(info.value)
    assert len(info.value.message) > 15  # a sentence, not a code
    assert time.perf_counter() - start < 5
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300  # a bomb is refused before it is decoded


def test_greyscale_content_survives_each_encoding() -> None:
    """Lossless formats give back exactly the page that was saved."""
    original = page_image()
    for fmt in ("PNG", "BMP", "TIFF"):
        data = encode(Image.fromarray(original), fmt)
        assert np.array_equal(load_pages(data, f"x.{fmt}")[0].image, original)


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    original = page_image()
    data = GOOD["sixteen-bit.png"][0]
    got = load_pages(data, "16.png")[0].image
    assert np.abs(got.astype(int) - original.astype(int)).max() <= 1


def test_cmyk_jpeg_is_not_inverted() -> None:
    got = load_pages(GOOD["cmyk.jpg"][0], "cmyk.jpg")[0].image
    original = page_image()
    assert np.mean(np.abs(got.astype(int) - original.astype(int))) < 12


def test_exif_orientation_is_applied() -> None:
    got = load_pages(GOOD["sideways exif.jpg"][0], "sideways.jpg")[0].image
    original = page_image()
    assert got.shape == original.shape
    assert np.mean(np.abs(got.astype(int) - original.astype(int))) < 12


def test_transparent_png_is_composited_on_white() -> None:
    rgba = np.zeros((20, 30, 4), np.uint8)  # fully transparent black
    rgba[5:10, 5:10] = (0, 0, 0, 255)
    got = load_pages(encode(Image.fromarray(rgba, "RGBA"), "PNG"), "a.png")[0].image
    assert got[0, 0] == 255 and got[7, 7] == 0


def test_pdf_pages_render_at_the_requested_dpi() -> None:
    data = GOOD["three pages.pdf"][0]  # saved at 100 dpi from 400×560 pixels
    at100 = load_pages(data, "a.pdf", dpi=100)
    at300 = load_pages(data, "a.pdf", dpi=300)
    assert len(at100) == len(at300) == 3
    assert abs(at100[0].width - 400) <= 1 and abs(at100[0].height - 560) <= 1
    assert abs(at300[0].width - 1200) <= 2
    assert at300[0].dpi == 300


def test_pdf_too_large_at_the_dpi_is_refused_before_rendering() -> None:
    from tests.fixtures_images import build_pdf

    huge = build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>",
        ]
    )
    with pytest.raises(errors.InputTooLargeError, match="megapixels"):
        load_pages(huge, "poster.pdf", dpi=200)
    assert len(load_pages(huge, "poster.pdf", dpi=10)) == 1  # same file, small enough at 10 dpi


def test_image_over_our_limit_but_under_pillows_is_refused() -> None:
    img = Image.new("1", (5000, 5000), 1)
    data = encode(img, "PNG")
    with pytest.raises(errors.InputTooLargeError, match="25 megapixels"):
        load_pages(data, "big.png", max_pixels=10_000_000)


def test_type_comes_from_the_bytes_not_the_name() -> None:
    jpeg = encode(Image.fromarray(page_image()), "JPEG")
    assert sniff(jpeg) == "jpeg"
    assert load_pages(jpeg, "named.pdf")[0].width == 400
    assert sniff(b"junk before %PDF-1.7 ...") == "pdf"


def test_tiff_pages_keep_their_own_sizes() -> None:
    a = Image.fromarray(page_image(200, 300))
    b = Image.fromarray(page_image(300, 200))
    buf = io.BytesIO()
    a.save(buf, format="TIFF", save_all=True, append_images=[b])
    pages = load_pages(buf.getvalue(), "mixed.tif")
    assert [(p.width, p.height) for p in pages] == [(200, 300), (300, 200)]


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_png_fast_path_matches_pillow(mode: str) -> None:
    """OpenCV decodes plain PNGs; its grey must be Pillow's (within rounding)."""
    rng = np.random.default_rng(3)
    colour = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    im = Image.fromarray(colour).convert(mode)
    got = load_pages(encode(im, "PNG"), "c.png")[0].image
    want = np.asarray(im.convert("L"))
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_png_with_exif_rotation_is_turned() -> None:
    """The fast path steps aside for an EXIF orientation (OpenCV is told to ignore it)."""
    original = page_image()
    im = Image.fromarray(original)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    im.save(buf, format="PNG", exif=exif.tobytes())
    got = load_pages(buf.getvalue(), "turned.png")[0].image
    assert got.shape == original.shape[::-1]
