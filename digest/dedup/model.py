"""The pairwise same-event model: logistic regression over pair features, weights shipped
as JSON in ``digest/data/dedup_model.json`` (retrain with ``benchmarks/train_dedup.py``)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .pairs import FEATURES

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "dedup_model.json"


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> dict:
    """The model's weights; its feature list must match the code's."""
    model = json.loads(path.read_text(encoding="utf-8"))
    if tuple(model["features"]) != FEATURES:
        raise ValueError(f"{path}: features {model['features']} do not match {FEATURES}; retrain")
    return model


EXTRA = ("title*lead", "title*names", "lead*names", "sqrt_blocking", "conflict*names")


def expand(x: np.ndarray) -> np.ndarray:
    """Base features plus the products that let a linear model weigh agreement jointly."""
    title, lead, names = x[:, 0], x[:, 1], x[:, 4]
    extra = [title * lead, title * names, lead * names, np.sqrt(x[:, 3]), x[:, 7] * names]
    return np.column_stack([x, *extra])


def probability(x: np.ndarray, model: dict | None = None, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Probability that each pair (a row of features) tells the same event; ``offset`` is
    added to the log-odds (the time prior)."""
    model = model or load()
    z = (expand(x) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    logit = z @ np.asarray(model["coef"]) + model["intercept"] + offset
    return 1.0 / (1.0 + np.exp(-logit))
