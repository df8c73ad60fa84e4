"""How close e5 puts questions that should and should not share a queue group — the measurement
behind `bot.staffloop.GROUP_SIMILARITY`. Deterministic (seeded sample), two cores, ~1 minute:

    python -m evals.question_similarity [--n 800]

Reads `../shared/qa/cmrc2018/questions.jsonl` (questions by the CMRC 2018 authors over Wikipedia
articles the team never tuned on): pairs on different articles (must not group), distinct
questions on the same article (a topic, not one question), and each question against a light
rewording of itself (请问…呢？, must group).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "qa" / "cmrc2018" / "questions.jsonl"


def reworded(question: str) -> str:
    return "请问" + question.rstrip("？?") + "呢？"


def measure(n: int = 800, seed: int = 0) -> dict:
    from cppcc_kb.settings import Settings
    from ingest.embedder import load_embedder

    embed = load_embedder(Settings()).embed_query
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    sample = random.Random(seed).sample(rows, n)

    def vectors(texts: list[str]) -> np.ndarray:
        v = np.stack([embed(t) for t in texts]).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    v = vectors([r["question"] for r in sample])
    sims = v @ v.T
    docs = np.array([r["sources"][0] for r in sample])
    upper = np.triu_indices(n, 1)
    same = (docs[:, None] == docs[None, :])[upper]
    pairs = sims[upper]
    w = vectors([reworded(r["question"]) for r in sample[:200]])
    self_sims = (w * v[:200]).sum(axis=1)
    pct = lambda a, q: round(float(np.percentile(a, q)), 4)  # noqa: E731
    return {"questions": n,
            "different_articles": {str(q): pct(pairs[~same], q) for q in (50, 99, 99.9)},
            "same_article": {str(q): pct(pairs[same], q) for q in (50, 90)},
            "reworded_self": {str(q): pct(self_sims, q) for q in (1, 5, 50)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=800)
    print(json.dumps(measure(parser.parse_args().n), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
