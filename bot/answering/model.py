"""The fitted answerer: which candidate answers, and how sure it is — read from a small JSON file.

Two models, both fitted by `evals/fit_answerer.py` on documents held out by fold:
- the *selector* scores each candidate sentence from its features (higher = likelier to hold
  the answer);
- the *judge* turns the chosen candidate's features, its score and its lead over the next one
  into the probability that the answer shown is right; below `threshold` the bot refuses.

Each is a boosted tree ensemble (LightGBM, exported as arrays) or a linear model; inference here
is numpy only, so answering needs no fitting library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class Scorer:
    """A tree ensemble (node arrays of all trees, roots) or a linear model (weights, bias)."""

    features: tuple[str, ...]
    kind: str  # trees | linear
    feature: np.ndarray | None = None  # per node: feature index, -1 at a leaf
    threshold: np.ndarray | None = None
    left: np.ndarray | None = None
    right: np.ndarray | None = None
    value: np.ndarray | None = None
    roots: np.ndarray | None = None
    depth: int = 0
    weights: np.ndarray | None = None
    bias: float = 0.0

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The model's raw score (log-odds) for each row of x."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        if self.kind == "linear":
            return x @ self.weights + self.bias
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            feat = self.feature[node]
            inner = feat >= 0
            if not inner.any():
                break
            goes_left = x[rows, np.maximum(feat, 0)] <= self.threshold[node]
            node = np.where(inner, np.where(goes_left, self.left[node], self.right[node]), node)
        return self.value[node].sum(axis=1) + self.bias

    def to_dict(self) -> dict:
        if self.kind == "linear":
            return {"kind": "linear", "features": list(self.features),
                    "weights": self.weights.tolist(), "bias": self.bias}
        return {"kind": "trees", "features": list(self.features), "depth": self.depth,
                "bias": self.bias, "roots": self.roots.tolist(),
                "nodes": [self.feature.tolist(), self.threshold.tolist(), self.left.tolist(),
                          self.right.tolist(), self.value.tolist()]}

    @classmethod
    def from_dict(cls, data: dict) -> "Scorer":
        features = tuple(data["features"])
        if data["kind"] == "linear":
            return cls(features, "linear", weights=np.array(data["weights"], dtype=np.float64),
                       bias=float(data["bias"]))
        feature, threshold, left, right, value = data["nodes"]
        return cls(features, "trees", feature=np.array(feature, dtype=np.int64),
                   threshold=np.array(threshold, dtype=np.float64),
                   left=np.array(left, dtype=np.int64), right=np.array(right, dtype=np.int64),
                   value=np.array(value, dtype=np.float64),
                   roots=np.array(data["roots"], dtype=np.int64), depth=int(data["depth"]),
                   bias=float(data.get("bias", 0.0)))


def genre(kind: str) -> str:
    """The judge's threshold is read per genre of the answering document. Its features are
    fitted mostly on encyclopedia articles; a law is worded otherwise (members name its matter
    in their own words, its sentences run long), so the same probability means a different
    thing for it. Held out (evals/fit_answerer.py): laws' own threshold sits near 0.2 against
    0.4 for the rest; news and reports with it instead refused fewer of the unanswerable
    questions on the bundled report (cppcc_dev abstain recall 0.85 against 0.95)."""
    return "law" if kind == "law" else "other"


@dataclass(frozen=True)
class AnswerModel:
    selector: Scorer
    judge: Scorer
    threshold: float  # least probability of being right for an answer to be shown
    about: dict  # how and on what it was fitted, and what it scored held out
    # per genre of the answering document (`genre`), where the fit had enough of it
    thresholds: tuple[tuple[str, float], ...] = ()

    def threshold_for(self, kind: str) -> float:
        return dict(self.thresholds).get(genre(kind), self.threshold)

    def save(self, path: Path) -> None:
        data = {"about": self.about, "threshold": self.threshold,
                "thresholds": dict(self.thresholds),
                "selector": self.selector.to_dict(), "judge": self.judge.to_dict()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                       encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "AnswerModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(Scorer.from_dict(data["selector"]), Scorer.from_dict(data["judge"]),
                   float(data["threshold"]), data.get("about", {}),
                   tuple((k, float(v)) for k, v in data.get("thresholds", {}).items()))


@lru_cache(maxsize=4)
def shipped_model(path: Path = MODEL_FILE) -> AnswerModel:
    """The model that ships with the bot (or another file of the same form), loaded once."""
    return AnswerModel.load(path)


def trees_from_lightgbm(dump: dict, features: tuple[str, ...]) -> Scorer:
    """A LightGBM model (`booster.dump_model()`) as flat node arrays for numpy inference."""
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    depth = 0

    def add(node: dict, level: int) -> int:
        nonlocal depth
        depth = max(depth, level)
        at = len(feature)
        feature.append(-1), threshold.append(0.0), left.append(at), right.append(at)
        value.append(0.0)
        if "leaf_value" in node:
            value[at] = float(node["leaf_value"])
            return at
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {node.get('decision_type')!r}")
        feature[at] = int(node["split_feature"])
        threshold[at] = float(node["threshold"])
        left[at] = add(node["left_child"], level + 1)
        right[at] = add(node["right_child"], level + 1)
        return at

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    return Scorer(features, "trees", feature=np.array(feature, dtype=np.int64),
                  threshold=np.array(threshold), left=np.array(left, dtype=np.int64),
                  right=np.array(right, dtype=np.int64), value=np.array(value),
                  roots=np.array(roots, dtype=np.int64), depth=depth)


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
