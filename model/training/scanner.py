"""Simulated scanning: geometry (dpi, rotation, perspective, shift) and image effects.

Used by the synthetic generator so tests and benchmarks see what real scanners produce: any
multiple of 90° plus a small skew, 150–300 dpi, mild perspective, blur, noise, dust, uneven light,
JPEG artefacts or fax-like 1-bit binarisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ScanEffects:
    dpi: float = 200.0
    quarter_turns: int = 0  # counter-clockwise multiples of 90°
    skew_deg: float = 0.0
    scale_jitter: float = 1.0
    perspective: float = 0.0  # corner displacement as a fraction of the page size
    margin: int = 10  # pixels of scanner lid around the paper
    lid: int = 250  # grey level outside the paper
    light: float = 0.0  # depth of the uneven-light gradient (0..0.4)
    blur: float = 0.0  # Gaussian sigma in pixels
    noise: float = 0.0  # Gaussian noise sigma in grey levels
    specks: int = 0  # dust specks
    jpeg_quality: int | None = None
    fax: bool = False  # binarise to 1 bit like a fax or a cheap scanner

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def random_effects(rng: np.random.Generator, *, strength: float = 1.0) -> ScanEffects:
    """Effects drawn across the whole supported range; ``strength`` 0 gives a clean 200-dpi scan."""
    s = float(np.clip(strength, 0.0, 1.0))
    fax = bool(rng.random() < 0.15 * s)
    return ScanEffects(
        dpi=float(200 + s * (rng.uniform(150, 300) - 200)),
        quarter_turns=int(rng.integers(0, 4)) if rng.random() < 0.5 * s else 0,
        skew_deg=float(rng.uniform(-5, 5) * s),
        scale_jitter=float(1 + rng.uniform(-0.03, 0.03) * s),
        perspective=float(rng.uniform(0, 0.012) * s),
        margin=int(rng.integers(0, int(60 * s) + 1)),
        lid=int(rng.integers(200, 256)) if rng.random() < 0.5 else 255,
        light=float(rng.uniform(0, 0.35) * s),
        blur=float(rng.uniform(0, 1.2) * s),
        noise=float(rng.uniform(0, 10) * s),
        specks=int(rng.integers(0, int(120 * s) + 1)),
        jpeg_quality=None if fax or rng.random() < 0.3 else int(rng.integers(35, 95)),
        fax=fax,
    )


def scan_geometry(
    size: tuple[int, int], fx: ScanEffects, rng: np.random.Generator, *, base_dpi: float = 200.0
) -> tuple[npt.NDArray[np.float64], tuple[int, int]]:
    """Homography (paper pixels → scan pixels) and the scan's (width, height)."""
    w, h = size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    scale = fx.dpi / base_dpi * fx.scale_jitter
    theta = np.deg2rad(90.0 * fx.quarter_turns + fx.skew_deg)
    rot = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    centred = (src - [w / 2, h / 2]) * scale
    dst = centred @ rot.T
    if fx.perspective > 0:
        span = fx.perspective * max(w, h) * scale
        dst = dst + rng.uniform(-span, span, size=dst.shape)
    dst = dst - dst.min(axis=0) + fx.margin
    out_w = int(np.ceil(dst[:, 0].max())) + fx.margin
    out_h = int(np.ceil(dst[:, 1].max())) + fx.margin
    hom = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    return hom.astype(np.float64), (out_w, out_h)


def apply_effects(
    paper: Image, fx: ScanEffects, rng: np.random.Generator, *, base_dpi: float = 200.0
) -> tuple[Image, npt.NDArray[np.float64]]:
    """Scan ``paper`` (grey uint8 at ``base_dpi``): the scan and the paper → scan homography."""
    h_w = (paper.shape[1], paper.shape[0])
    hom, (ow, oh) = scan_geometry(h_w, fx, rng, base_dpi=base_dpi)
    src = paper
    if fx.dpi < base_dpi * 0.95:  # anti-alias before shrinking, as the scanner's optics do
        sigma = 0.4 * base_dpi / fx.dpi
        src = cv2.GaussianBlur(paper, (0, 0), sigma)
    img = cv2.warpPerspective(
        src,
        hom,
        (ow, oh),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fx.lid,
    ).astype(np.float32)
    if fx.light > 0:
        yy, xx = np.mgrid[0:oh:8, 0:ow:8].astype(np.float32)
        a, b = rng.uniform(-1, 1, 2)
        ramp = a * xx / ow + b * yy / oh
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
        gain = cv2.resize(1.0 - fx.light * ramp, (ow, oh), interpolation=cv2.INTER_LINEAR)
        img *= gain
    if fx.blur > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), fx.blur)
    if fx.noise > 0:
        img += rng.normal(0, fx.noise, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(fx.specks):
        x, y = int(rng.integers(0, ow)), int(rng.integers(0, oh))
        r = float(rng.uniform(0.6, 2.2)) * fx.dpi / 200
        cv2.circle(out, (x, y), max(1, round(r)), int(rng.integers(0, 90)), -1)
    if fx.fax:
        thresh = cv2.adaptiveThreshold(
            out, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 51 | 1, 25
        )
        out = thresh
    elif fx.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, fx.jpeg_quality])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out, hom


def map_box(
    hom: npt.NDArray[np.float64], box: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """Axis-aligned bounding box of ``box`` after the homography."""
    x, y, w, h = box
    pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64).reshape(
        -1, 1, 2
    )
    out = cv2.perspectiveTransform(pts, hom).reshape(-1, 2)
    x0, y0 = np.floor(out.min(axis=0))
    x1, y1 = np.ceil(out.max(axis=0))
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)
