"""bench/bench_designer.py on a family or two: it runs, and its figures hold together."""

from __future__ import annotations

import pytest

from bench import bench_designer as bd


def test_match_is_one_to_one_at_the_iou_bar() -> None:
    truth = [(0, 0, 100, 100), (200, 0, 100, 100)]
    found = [(5, 5, 100, 100), (0, 0, 100, 100), (400, 0, 10, 10)]
    assert bd.match(truth, found) == {0: 1}


@pytest.mark.slow
def test_blank_forms_of_two_families() -> None:
    report = bd.run(["comb_ticks", "table_grid"], [0], None, None, examples=False)
    overall = report["groups"]["OVERALL corpus"]["blank"]
    assert overall["true"] > 10
    assert overall["recall"]["value"] >= 0.9
    assert overall["precision"]["value"] >= 0.8
    assert set(report["groups"]) == {"comb_ticks", "table_grid", "OVERALL corpus"}
