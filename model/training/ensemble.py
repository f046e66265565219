"""Two or more trained networks joined into one model file: each reads every crop, logits averaged.

The members' logits are divided by each member's own temperature (so each speaks in calibrated
log-odds) and averaged (weighted, if asked): the log of a weighted geometric mean of their
probabilities. The joined model then gets its own temperature like any trained one. It is one
Keras graph, so the .tflite, the checksum, OpenVINO, the Keras baseline of the classifier
benchmark and ``digitize adapt`` all treat it as they treat a single network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from digitize.errors import ModelError
from model.inference import ModelConfig, load_config

ENSEMBLE_PREFIX = "ensemble"


def _renamed(model: Any, name: str) -> Any:
    """A copy of ``model`` under another name (a graph's layer names must be unique)."""
    copy = type(model).from_config({**model.get_config(), "name": name})
    copy.set_weights(model.get_weights())
    return copy


def combine(
    members: Sequence[Any], temperatures: Sequence[float], weights: Sequence[float] | None = None
) -> Any:
    """One Keras model whose logits are the weighted mean of the members' calibrated logits.

    ``weights`` (default: equal) are normalised to sum to one.
    """
    import keras
    from keras import layers

    if len(members) < 2 or len(members) != len(temperatures):
        raise ValueError("an ensemble needs two or more members, each with its temperature")
    weights = list(weights) if weights is not None else [1.0] * len(members)
    if len(weights) != len(members) or min(weights) <= 0:
        raise ValueError("give one positive weight per member")
    total = float(sum(weights))
    inputs = keras.Input((28, 28, 1), name="crops")
    scaled = []
    for i, (member, t, w) in enumerate(zip(members, temperatures, weights, strict=True)):
        net = _renamed(member, f"member{i}_{member.name}")
        share = float(w) / total / float(t)
        scaled.append(layers.Rescaling(share, name=f"member{i}_weighted")(net(inputs)))
    logits = layers.Add(name="logits")(scaled)
    name = f"{ENSEMBLE_PREFIX}{len(members)}-" + "+".join(sorted({m.name for m in members}))
    return keras.Model(inputs, logits, name=name)


def load_members(paths: Sequence[Path]) -> tuple[list[Any], list[ModelConfig]]:
    """The members' Keras models and configs; a member without its .keras file is refused."""
    import keras

    configs = [load_config(p) for p in paths]
    for c in configs:
        if c.keras is None or not c.keras.is_file():
            raise ModelError(f"{c.path}: an ensemble member needs its Keras model file")
    models = [keras.models.load_model(c.keras, compile=False) for c in configs]
    return models, configs


def build_ensemble(
    paths: Sequence[Path],
    out_dir: Path,
    *,
    weights: Sequence[float] | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """``digitize ensemble``: join the members, calibrate on validation digits, write the trio.

    The members must share the class list. Returns the report (also written as
    ``ensemble_report.json``); the test digits are scored for the report only.
    """
    from model.training.data import load_mnist, to_unit
    from model.training.export import write_model
    from model.training.train import TrainConfig, calibrate_and_score

    models, configs = load_members(paths)
    classes = configs[0].classes
    if any(c.classes != classes for c in configs):
        raise ValueError("the members do not share one class list")
    model = combine(models, [c.temperature for c in configs], weights)
    data = load_mnist()
    scores = calibrate_and_score(model, data, TrainConfig(seed=seed))
    training = {
        "members": [
            {
                "config": str(c.path),
                "tflite_sha256": c.raw.get("tflite_sha256"),
                "temperature": c.temperature,
                "training": c.raw.get("training", {}),
            }
            for c in configs
        ],
        "weights": list(weights) if weights is not None else None,
    }
    cfg_path, diff = write_model(
        model,
        out_dir,
        temperature=scores["temperature"],
        classes=classes,
        metrics={k: v for k, v in scores.items() if k != "temperature"},
        training=training,
        check_images=to_unit(data.x_test[:2000]),
    )
    report = {"model_config": str(cfg_path), **scores, "tflite_vs_keras_max_abs_diff": diff}
    (out_dir / "ensemble_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
