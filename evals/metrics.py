"""Evaluation metrics: plain functions over questions and the bot's answers as dicts."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

from bot.figures import untraced_figures
from evals.sets import Question

METRIC_KEYS = ("n", "answer_accuracy", "abstain_precision", "abstain_recall", "hit_at_1",
               "hit_at_5", "mrr", "citation_precision", "unverified_rate", "p50_ms", "p95_ms")
_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3})")
_MARKERS = re.compile(r"\[\d+\]")


def norm(text: str) -> str:
    """Compare answers as a reader would: width, spaces, thousands separators and [n] ignored."""
    text = unicodedata.normalize("NFKC", text)
    return _THOUSANDS.sub("", _SPACES.sub("", _MARKERS.sub("", text))).lower()


def answer_correct(q: Question, answer: str) -> bool:
    got = norm(answer)
    hits = [norm(a) in got for a in q.answers]
    return all(hits) if q.all else any(hits)


def _gold_source(q: Question, row: dict) -> bool:
    names = {row.get("source", ""), row.get("doc_id", ""), row.get("title", "")}
    return any(s and (s in names or s == row.get("source", "").split("/")[-1]) for s in q.sources)


def _relevant(q: Question, row: dict) -> bool:
    text = norm(row.get("text", ""))
    return any(norm(a) in text for a in q.answers) or _gold_source(q, row)


def first_hit(q: Question, retrieved: list[dict]) -> int:
    """1-based rank of the first relevant passage, 0 when none is."""
    for rank, row in enumerate(retrieved, 1):
        if _relevant(q, row):
            return rank
    return 0


def citation_share(q: Question, citations: list[dict]) -> float:
    """Share of the answer's citations whose quote holds a gold answer."""
    if not citations:
        return 0.0
    return sum(any(norm(a) in norm(c["quote"]) for a in q.answers) for c in citations) / len(citations)


def shown_untraced(result: dict) -> list[str]:
    """Figures of an answer shown as fact (not abstained, marked verified) missing from its
    citations: checked here again, independently of the bot's own flag."""
    if result["abstained"] or not result["verified"]:
        return []
    sources = [f"{c['title']}\n{c.get('heading', '')}\n{c.get('date', '')}\n{c.get('passage') or c['quote']}"
               for c in result["citations"]]
    return untraced_figures(result["answer"], sources)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def grade(q: Question, result: dict) -> dict:
    """Per-question verdict used by the metrics and the report."""
    abstained = bool(result["abstained"])
    hit = first_hit(q, result.get("retrieved", [])) if q.answerable else 0
    correct = (not abstained and answer_correct(q, result["answer"])) if q.answerable else abstained
    return {"id": q.id, "type": q.type or ("unanswerable" if not q.answerable else ""),
            "answerable": q.answerable, "correct": correct, "abstained": abstained,
            "first_hit": hit, "citation_share": citation_share(q, result["citations"])
            if q.answerable and not abstained else None,
            "untraced": shown_untraced(result), "ms": result.get("ms", 0.0)}


def summarize(grades: list[dict]) -> dict:
    """The metrics dict: the CLI, the report and the test gate all read this."""
    answerable = [g for g in grades if g["answerable"]]
    unanswerable = [g for g in grades if not g["answerable"]]
    abstained = [g for g in grades if g["abstained"]]
    shown = [g for g in grades if not g["abstained"]]
    cited = [g["citation_share"] for g in answerable if g["citation_share"] is not None]
    ranks = [g["first_hit"] for g in answerable]
    latencies = [g["ms"] for g in grades]
    return {
        "n": len(grades),
        "answer_accuracy": _ratio(sum(g["correct"] for g in answerable), len(answerable)),
        "abstain_precision": _ratio(sum(not g["answerable"] for g in abstained), len(abstained)),
        "abstain_recall": _ratio(sum(g["abstained"] for g in unanswerable), len(unanswerable)),
        "hit_at_1": _ratio(sum(r == 1 for r in ranks), len(ranks)),
        "hit_at_5": _ratio(sum(1 <= r <= 5 for r in ranks), len(ranks)),
        "mrr": _ratio(sum(1 / r for r in ranks if r), len(ranks)),
        "citation_precision": _ratio(sum(cited), len(cited)),
        "unverified_rate": _ratio(sum(bool(g["untraced"]) for g in shown), len(shown), empty=0.0),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }


def _ratio(num: float, den: int, empty: float = 1.0) -> float:
    """A share rounded for reading; `empty` when there is nothing to count (a rate of
    successes is then 1.0 — nothing failed — and a rate of faults 0.0)."""
    return round(num / den, 4) if den else empty


def sign_test(improved: int, regressed: int) -> float:
    """Two-sided exact sign test (McNemar's, exact) on the questions whose verdict moved between
    two runs of the same set: the chance of a split at least this uneven if the change made no
    difference. Questions on one document are not independent, so read it as optimistic."""
    moved = improved + regressed
    if not moved:
        return 1.0
    tail = sum(math.comb(moved, k) for k in range(min(improved, regressed) + 1)) / 2 ** moved
    return min(1.0, 2 * tail)


def interval_by_document(correct: list[bool], documents: list[str], reps: int = 2000,
                         seed: int = 0, least: int = 5) -> tuple[float, float] | None:
    """95 % interval of a share (answer accuracy), resampling whole documents: the questions of
    one article share its wording and rise or fall together, so resampling questions one by one
    would draw the interval too narrow. None under `least` documents (ten questions on one
    report say nothing of how another would fare). Seeded: the same rows give the same one."""
    groups: dict[str, list[bool]] = {}
    for ok, doc in zip(correct, documents):
        groups.setdefault(doc, []).append(bool(ok))
    if len(groups) < least:
        return None
    right = np.array([sum(g) for g in groups.values()])
    asked = np.array([len(g) for g in groups.values()])
    drawn = np.random.default_rng(seed).integers(0, len(groups), size=(reps, len(groups)))
    shares = (right[drawn].sum(axis=1) / asked[drawn].sum(axis=1)).tolist()
    return (round(percentile(shares, 2.5), 4), round(percentile(shares, 97.5), 4))
