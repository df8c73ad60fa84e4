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
    # per node: where a missing value (NaN: a feature not read for this row) goes, as fitted
    missing_left: np.ndarray | None = None
    weights: np.ndarray | None = None
    bias: float = 0.0

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The model's raw score (log-odds) for each row of x."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        if self.kind == "linear":  # a feature not read (NaN) weighs nothing
            return np.nan_to_num(x) @ self.weights + self.bias
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            feat = self.feature[node]
            inner = feat >= 0
            if not inner.any():
                break
            v = x[rows, np.maximum(feat, 0)]
            goes_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
            node = np.where(inner, np.where(goes_left, self.left[node], self.right[node]), node)
        return self.value[node].sum(axis=1) + self.bias

    def to_dict(self) -> dict:
        if self.kind == "linear":
            return {"kind": "linear", "features": list(self.features),
                    "weights": self.weights.tolist(), "bias": self.bias}
        return {"kind": "trees", "features": list(self.features), "depth": self.depth,
                "bias": self.bias, "roots": self.roots.tolist(),
                "nodes": [self.feature.tolist(), self.threshold.tolist(), self.left.tolist(),
                          self.right.tolist(), self.value.tolist(),
                          self.missing_left.astype(int).tolist()]}

    @classmethod
    def from_dict(cls, data: dict) -> "Scorer":
        features = tuple(data["features"])
        if data["kind"] == "linear":
            return cls(features, "linear", weights=np.array(data["weights"], dtype=np.float64),
                       bias=float(data["bias"]))
        feature, threshold, left, right, value, *missing = data["nodes"]
        threshold = np.array(threshold, dtype=np.float64)
        # a file from before missing values: a NaN is read as 0, as LightGBM then read it
        missing_left = np.array(missing[0], dtype=bool) if missing else 0.0 <= threshold
        return cls(features, "trees", feature=np.array(feature, dtype=np.int64),
                   threshold=threshold, missing_left=missing_left,
                   left=np.array(left, dtype=np.int64), right=np.array(right, dtype=np.int64),
                   value=np.array(value, dtype=np.float64),
                   roots=np.array(data["roots"], dtype=np.int64), depth=int(data["depth"]),
                   bias=float(data.get("bias", 0.0)))


def genre(kind: str) -> str:
    """The judge's threshold is read per genre of the answering document, and laws have a judge
    of their own. Its features are fitted mostly on encyclopedia articles; a law is worded
    otherwise (members name its matter in their own words, its sentences run long), so the
    same probability means a different thing for it, and what its passage leaves unsaid of a
    question says little. Held out (evals/fit_answerer.py): news and reports with laws'
    threshold instead refused fewer of the unanswerable questions on the bundled report
    (cppcc_dev abstain recall 0.85 against 0.95); laws judged by the others' judge once it read
    what a passage leaves unsaid needed a threshold of 0.45 for 0.2, and refused fair law
    questions (scale_dev 0.925 -> 0.875)."""
    return "law" if kind == "law" else "other"


@dataclass(frozen=True)
class AnswerModel:
    selector: Scorer
    judge: Scorer
    threshold: float  # least probability of being right for an answer to be shown
    about: dict  # how and on what it was fitted, and what it scored held out
    # per genre of the answering document (`genre`), where the fit had enough of it
    thresholds: tuple[tuple[str, float], ...] = ()
    # per genre, a judge of its own: one that does not read what the genre's rows leave unread
    # (decision.UNREAD)
    judges: tuple[tuple[str, Scorer], ...] = ()

    def threshold_for(self, kind: str) -> float:
        return dict(self.thresholds).get(genre(kind), self.threshold)

    def judge_for(self, kind: str) -> Scorer:
        return dict(self.judges).get(genre(kind), self.judge)

    def save(self, path: Path) -> None:
        data = {"about": self.about, "threshold": self.threshold,
                "thresholds": dict(self.thresholds),
                "selector": self.selector.to_dict(), "judge": self.judge.to_dict(),
                "judges": {name: judge.to_dict() for name, judge in self.judges}}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                       encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "AnswerModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(Scorer.from_dict(data["selector"]), Scorer.from_dict(data["judge"]),
                   float(data["threshold"]), data.get("about", {}),
                   tuple((k, float(v)) for k, v in data.get("thresholds", {}).items()),
                   tuple((k, Scorer.from_dict(v)) for k, v in data.get("judges", {}).items()))


@lru_cache(maxsize=4)
def shipped_model(path: Path = MODEL_FILE) -> AnswerModel:
    """The model that ships with the bot (or another file of the same form), loaded once."""
    return AnswerModel.load(path)


def trees_from_lightgbm(dump: dict, features: tuple[str, ...]) -> Scorer:
    """A LightGBM model (`booster.dump_model()`) as flat node arrays for numpy inference."""
    feature, threshold, left, right, value, roots, missing_left = [], [], [], [], [], [], []
    depth = 0

    def add(node: dict, level: int) -> int:
        nonlocal depth
        depth = max(depth, level)
        at = len(feature)
        feature.append(-1), threshold.append(0.0), left.append(at), right.append(at)
        value.append(0.0), missing_left.append(False)
        if "leaf_value" in node:
            value[at] = float(node["leaf_value"])
            return at
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {node.get('decision_type')!r}")
        feature[at] = int(node["split_feature"])
        threshold[at] = float(node["threshold"])
        # LightGBM sends a NaN the fitted way where the feature had missing values, and else
        # reads it as 0; 'Zero' (0 taken for missing) is never asked for here
        missing = node.get("missing_type", "None")
        if missing == "Zero":
            raise ValueError("unsupported missing_type 'Zero'")
        missing_left[at] = bool(node["default_left"]) if missing == "NaN" else 0.0 <= threshold[at]
        left[at] = add(node["left_child"], level + 1)
        right[at] = add(node["right_child"], level + 1)
        return at

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    return Scorer(features, "trees", feature=np.array(feature, dtype=np.int64),
                  threshold=np.array(threshold), left=np.array(left, dtype=np.int64),
                  right=np.array(right, dtype=np.int64), value=np.array(value),
                  roots=np.array(roots, dtype=np.int64), depth=depth,
                  missing_left=np.array(missing_left, dtype=bool))


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
