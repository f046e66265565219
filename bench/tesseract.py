"""Tesseract 5 on the same folder of forms, two pages at a time: the comparison for issue 6.

Tesseract is a general OCR engine for printed text; run over the same 200 dpi forms it reads
almost none of the handwritten digits. ``fields_right`` counts a field as read when its value
appears among Tesseract's tokens (non-digits stripped), a generous test.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

COMMAND = "tesseract PAGE.png - --psm 6 (2 at a time, OMP_THREAD_LIMIT=1)"


def tesseract_run(forms: Path, truth: dict[str, dict[str, str]]) -> dict[str, Any]:
    """``tesseract page.png - --psm 6``, two pages at a time; pages/s and fields read right."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise FileNotFoundError("tesseract is not installed")
    files = sorted(forms.glob("*.png"))

    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # two single-threaded pages: its best case

    def ocr(f: Path) -> tuple[str, str]:
        res = subprocess.run(
            [exe, str(f), "-", "--psm", "6"], capture_output=True, text=True, timeout=600, env=env
        )
        return f.name, res.stdout

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        texts = dict(pool.map(ocr, files))
    seconds = time.perf_counter() - t
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime - cpu
    right = total = 0
    for name, values in truth.items():
        tokens = {re.sub(r"\D", "", tok) for tok in texts[name].split()}
        for value in values.values():
            total += 1
            right += re.sub(r"\D", "", value) in tokens
    return {
        "pages_per_s": len(files) / seconds,
        "cpu_s_per_page": cpu / len(files),
        "fields_right": right,
        "fields": total,
    }


def tesseract_version() -> str:
    exe = shutil.which("tesseract") or "tesseract"
    res = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return (res.stdout or res.stderr).splitlines()[0] if (res.stdout or res.stderr) else "?"


def digitize_accuracy(db_url: str, truth: dict[str, dict[str, str]]) -> dict[str, int]:
    """Fields whose value equals the truth, from ``digitize process``'s results."""
    from db.results import ResultFilter, query_results
    from db.session import dispose_engines, session_scope

    with session_scope(db_url) as session:
        data = query_results(session, ResultFilter())
    dispose_engines()
    right = total = 0
    for doc in data["documents"]:
        values = truth.get(doc["source"], {})
        read = {f["name"]: f["value"] for p in doc["pages"] for f in p["fields"]}
        for name, value in values.items():
            total += 1
            right += str(read.get(name)) == value
    return {"fields_right": right, "fields": total}
