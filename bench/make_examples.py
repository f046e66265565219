"""Regenerate ``examples/``: realistic scans of the bundled form layouts, their templates and truth.

Handwriting is MNIST *test* digits (``tests/data/mnist_sample.npz``), scanned with the generator's
effects; formats cover what users send: a fax-like 1-bit PNG, a sideways JPEG, a multi-page PDF of
mixed forms (one upside down), a multi-page Group 4 TIFF and a page of no known form.
``examples/truth.json`` records what is on every page. Run: ``python bench/make_examples.py``.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from model.training import synthetic
from model.training.scanner import ScanEffects
from model.training.synthetic import SyntheticPage

ROOT = Path(__file__).resolve().parent.parent


def _pil(page: SyntheticPage) -> Image.Image:
    return Image.fromarray(page.image)


def _truth(page: SyntheticPage, number: int) -> dict[str, object]:
    return {
        "page": number,
        "template": page.template,
        "fields": page.values,
        "field_boxes": {k: list(v) for k, v in page.field_boxes.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "examples")
    ap.add_argument("--digits", type=Path, default=ROOT / "tests" / "data" / "mnist_sample.npz")
    args = ap.parse_args()
    out: Path = args.out
    source = synthetic.digit_source_from_npz(args.digits)
    out.mkdir(parents=True, exist_ok=True)
    synthetic.write_templates(out / "templates")
    truth: dict[str, list[dict[str, object]]] = {}

    # 1. A fax: 1-bit, slightly skewed, 200 dpi.
    fax = synthetic.make_page(
        "claim",
        source,
        11,
        effects=ScanEffects(
            dpi=200, skew_deg=1.5, perspective=0.003, specks=40, fax=True, margin=20
        ),
    )
    _pil(fax).convert("1").save(out / "claim_fax.png", optimize=True, dpi=(200, 200))
    truth["claim_fax.png"] = [_truth(fax, 1)]

    # 2. A sideways office scan, JPEG.
    side = synthetic.make_page(
        "survey",
        source,
        12,
        effects=ScanEffects(
            dpi=170,
            quarter_turns=1,
            skew_deg=-2.0,
            perspective=0.004,
            noise=3.0,
            blur=0.5,
            light=0.15,
            specks=15,
            lid=235,
            margin=25,
        ),
    )
    _pil(side).save(out / "survey sideways.jpg", quality=70, dpi=(170, 170))
    truth["survey sideways.jpg"] = [_truth(side, 1)]

    # 3. A multi-page PDF of mixed forms, one page upside down, pages embedded as JPEG at 200 dpi
    #    (the default rendering resolution, so truth boxes are in the pixels of the page as read).
    pdf_pages = [
        synthetic.make_page(
            "order",
            source,
            13,
            effects=ScanEffects(dpi=200, skew_deg=0.8, noise=2.0, light=0.1, margin=10),
        ),
        synthetic.make_page(
            "order",
            source,
            14,
            effects=ScanEffects(
                dpi=200, quarter_turns=2, skew_deg=-1.2, noise=2.0, blur=0.4, margin=10
            ),
        ),
        synthetic.make_page(
            "claim",
            source,
            15,
            effects=ScanEffects(dpi=200, skew_deg=3.0, perspective=0.006, noise=2.0, margin=10),
        ),
    ]
    ims = [_pil(p) for p in pdf_pages]
    buf = io.BytesIO()
    ims[0].save(
        buf, format="PDF", save_all=True, append_images=ims[1:], resolution=200.0, quality=60
    )
    (out / "orders_batch.pdf").write_bytes(buf.getvalue())
    truth["orders_batch.pdf"] = [_truth(p, i + 1) for i, p in enumerate(pdf_pages)]

    # 4. A multi-page Group 4 TIFF (a fax machine's output).
    tif_pages = [
        synthetic.make_page(
            "survey",
            source,
            16 + i,
            effects=ScanEffects(dpi=200, skew_deg=-1.0 + 2 * i, specks=30, fax=True, margin=15),
        )
        for i in range(2)
    ]
    tifs = [_pil(p).convert("1") for p in tif_pages]
    tifs[0].save(
        out / "survey_fax.tif",
        save_all=True,
        append_images=tifs[1:],
        compression="group4",
        dpi=(200, 200),
    )
    truth["survey_fax.tif"] = [_truth(p, i + 1) for i, p in enumerate(tif_pages)]

    # 5. A page of no known form: read template-free.
    free = synthetic.make_free_page(
        source, 18, effects=ScanEffects(dpi=150, skew_deg=1.0, noise=2.0, margin=10)
    )
    _pil(free).save(out / "meter readings.jpg", quality=70, dpi=(150, 150))
    truth["meter readings.jpg"] = [_truth(free, 1)]

    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({total / 1e6:.2f} MB)")
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"  {p.relative_to(out)}  {p.stat().st_size / 1e3:.0f} kB")
    assert np.isfinite(total)


if __name__ == "__main__":
    main()
