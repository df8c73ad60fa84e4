"""The quality gate: per question set, the least each metric may be (the most, for the
lower-is-better ones). tests/evals/test_gate.py runs the sets and fails on any breach.

Measured 2026-11-25 (extractive mode; knowledge base = `cppcc-kb ingest ../shared/corpus`,
the news report and the 13 laws; `cppcc-kb eval SET --json`):

  set               n  accuracy abst.prec abst.rec hit@1  hit@5  mrr    cit.prec unverif
  seed_dev.jsonl   12  1.0      1.0       1.0      1.0    1.0    1.0    1.0      0.0
  policy_dev.jsonl 24  1.0      1.0       1.0      0.947  1.0    0.974  0.974    0.0
  cppcc_dev.jsonl 112  0.87     0.79      0.88     0.988  1.0    0.994  0.92     0.0

The shared sets are held to the product's acceptance figures (issue 4): at least 95% of the
answerable questions right and cited, at least 90% of the unanswerable ones refused, MRR at
least 0.95. With 10 (seed) and 19 (policy) answerable questions that leaves no slack: a single
regression there fails the suite, on purpose. The team's own set (86 answerable / 26
unanswerable, never tuned question by question) has a floor two to three points below what
was measured. `unverified_rate` is 0.0 everywhere and is never relaxed: an answer shown as fact
whose figures are not in its citations is a failure of the product, not of tuning. `n` is the
number of questions in the set, so a set that silently lost lines fails the gate too. Latency
ceilings are loose (machines differ); they catch a pathological slowdown only — speed is
measured by `cppcc-kb bench query`.
"""

from __future__ import annotations

from pathlib import Path

MEASURED_ON = "2026-11-25"

_LATENCY = {"p50_ms": 5000.0, "p95_ms": 20000.0}  # loose ceilings, see above

GATES: dict[str, dict[str, float]] = {
    "seed_dev.jsonl": {
        "n": 12, "answer_accuracy": 0.95, "abstain_precision": 0.9, "abstain_recall": 0.9,
        "hit_at_1": 0.9, "hit_at_5": 1.0, "mrr": 0.95, "citation_precision": 0.9,
        "unverified_rate": 0.0, **_LATENCY},
    "policy_dev.jsonl": {
        "n": 24, "answer_accuracy": 0.95, "abstain_precision": 0.9, "abstain_recall": 0.9,
        "hit_at_1": 0.9, "hit_at_5": 1.0, "mrr": 0.95, "citation_precision": 0.9,
        "unverified_rate": 0.0, **_LATENCY},
    "cppcc_dev.jsonl": {
        "n": 112, "answer_accuracy": 0.84, "abstain_precision": 0.75, "abstain_recall": 0.84,
        "hit_at_1": 0.96, "hit_at_5": 0.98, "mrr": 0.97, "citation_precision": 0.88,
        "unverified_rate": 0.0, **_LATENCY},
}

# Metrics where the threshold is a ceiling; every other threshold is a floor.
MAXIMA = frozenset({"unverified_rate", "p50_ms", "p95_ms"})


def gate_for(name: str | Path) -> dict[str, float] | None:
    """The thresholds of a set, by its file name (a path is reduced to its name)."""
    return GATES.get(Path(name).name)


def limit_text(key: str, limit: float) -> str:
    return f"{'≤' if key in MAXIMA else '≥'} {limit:g}"


def meets(key: str, value: float, limit: float) -> bool:
    return value <= limit if key in MAXIMA else value >= limit


def check_gate(name: str | Path, metrics: dict) -> list[str]:
    """Every breach of the set's thresholds as a readable sentence; [] when the gate passes."""
    gate = gate_for(name)
    if gate is None:
        return [f"no gate thresholds for {Path(name).name!r}; add them to evals.gate.GATES "
                f"(known sets: {', '.join(sorted(GATES))})"]
    failures = []
    for key, limit in gate.items():
        value = metrics.get(key)
        if not isinstance(value, (int, float)):
            failures.append(f"{Path(name).name}: {key} is missing from the metrics")
        elif not meets(key, value, limit):
            failures.append(f"{Path(name).name}: {key} = {value:g}, must be {limit_text(key, limit)}")
    return failures
