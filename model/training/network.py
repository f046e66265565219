"""The CNN: Chris Deotte's Kaggle MNIST design at half width, 11 logits out.

Half width (~3.9 M multiply-adds per digit against the full net's ~15 M) keeps a page's crops
within the speed bar; three-stage designs working at lower resolution were no better on validation
data (docs/experiments.md). Strided 5×5 convolutions act as learned pooling; BatchNorm folds into
the convolutions on conversion. The model outputs logits: calibration (temperature) is applied
outside, at inference.
"""

from __future__ import annotations

from typing import Any

from digitize.types import NUM_CLASSES

ARCHITECTURE = "deotte-half-v1"


#: Name of the design with depthwise-separable convolutions from layer ``separable_from`` on.
SEPARABLE = "deotte-separable-v1"
PLAIN_LAYERS = 6  #: six convolutions: ``separable_from=6`` keeps them all plain


def architecture(separable_from: int = PLAIN_LAYERS) -> str:
    """The design's name as the model file's config records it."""
    return ARCHITECTURE if separable_from >= PLAIN_LAYERS else SEPARABLE


def build_model(
    widths: tuple[int, int] = (16, 32),
    dense: int = 128,
    dropout: float = 0.4,
    separable_from: int = PLAIN_LAYERS,
) -> Any:
    """Conv-BN ×3 (last strided 5×5), twice, then Dense-BN and a linear 11-way head.

    Convolutions from the ``separable_from``-th (0-based) on are depthwise-separable: far fewer
    multiply-adds for the same channels, so a wider net costs no more at inference.
    """
    import keras
    from keras import layers

    def conv(x: Any, filters: int, kernel: int, stride: int, index: int) -> Any:
        pad = "same" if stride > 1 else "valid"
        kind = layers.SeparableConv2D if index >= separable_from else layers.Conv2D
        x = kind(filters, kernel, strides=stride, padding=pad, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((28, 28, 1), name="crops")
    x = inputs
    for b, w in enumerate(widths):
        x = conv(x, w, 3, 1, 3 * b)
        x = conv(x, w, 3, 1, 3 * b + 1)
        x = conv(x, w, 5, 2, 3 * b + 2)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, outputs, name=architecture(separable_from))
