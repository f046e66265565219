"""``model.training.network``: the plain and the depthwise-separable forms of the digit CNN."""

from __future__ import annotations

import pytest

from model.training.network import ARCHITECTURE, SEPARABLE, build_model


@pytest.mark.parametrize("separable_from", [0, 1, 3, 5, 6])
def test_convolutions_turn_separable_from_the_given_one(separable_from: int) -> None:
    from keras import layers

    model = build_model((16, 32), separable_from=separable_from)
    convs = [
        layer for layer in model.layers if isinstance(layer, layers.Conv2D | layers.SeparableConv2D)
    ]
    assert len(convs) == 6
    kinds = [isinstance(c, layers.SeparableConv2D) for c in convs]
    assert kinds == [i >= separable_from for i in range(6)]
    assert model.name == (ARCHITECTURE if separable_from == 6 else SEPARABLE)
    assert model.output_shape == (None, 11)


def test_a_separable_block_needs_far_fewer_weights_at_the_same_width() -> None:
    plain = build_model((16, 96))
    separable = build_model((16, 96), separable_from=3)
    assert separable.count_params() < plain.count_params() / 2
