"""The quality gate: the dev set and the shared sets through the real bot, against evals/gate.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.gate import GATES, MAXIMA, check_gate
from evals.runner import run_set
from evals.sets import load_set

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO / "evals" / "sets" / "cppcc_dev.jsonl"
SHARED_SETS = ("seed_dev.jsonl", "policy_dev.jsonl")


def set_path(name: str, shared_evals: Path | None) -> Path:
    return DEV_SET if name == DEV_SET.name else shared_evals / name


@pytest.fixture(scope="module")
def warm_bot(corpus_bot):
    """The corpus bot after one throwaway question, as `cppcc-kb eval` does: model loading
    is not the first question's latency."""
    from evals.commands import warm_up

    warm_up(corpus_bot, "extractive")
    return corpus_bot


@pytest.mark.slow
@pytest.mark.parametrize("name", [*SHARED_SETS, DEV_SET.name])
def test_set_meets_its_gate(name, request, warm_bot):
    shared = request.getfixturevalue("shared_evals") if name in SHARED_SETS else None
    questions, problems = load_set(set_path(name, shared))
    assert problems == [], f"{name} has broken lines: {problems}"
    metrics = run_set(warm_bot, questions, mode="extractive")["metrics"]
    failures = check_gate(name, metrics)
    assert failures == [], "\n".join(failures) + "\nmeasured: " + json.dumps(metrics)


# ---- the gate itself (fast) ------------------------------------------------------------------

def measured(name: str) -> dict:
    """Metrics that exactly meet the gate of `name`."""
    return dict(GATES[name])


@pytest.mark.parametrize("name", list(GATES))
def test_gate_passes_at_its_thresholds_and_fails_just_below(name):
    assert check_gate(name, measured(name)) == []
    for key, limit in GATES[name].items():
        worse = measured(name)
        worse[key] = limit + 0.01 if key in MAXIMA else limit - 0.01
        failures = check_gate(name, worse)
        assert len(failures) == 1 and key in failures[0] and name in failures[0]


def test_every_gate_forbids_unverified_figures_and_counts_its_questions(shared_evals):
    assert set(GATES) == {*SHARED_SETS, DEV_SET.name}
    for name, gate in GATES.items():
        assert gate["unverified_rate"] == 0.0, name
        questions, _ = load_set(set_path(name, shared_evals))
        # a set that lost lines fails the gate; one that grew needs its gate re-measured
        assert gate["n"] == len(questions), f"{name}: gate n {gate['n']}, set {len(questions)}"


def test_unverified_figures_fail_the_gate_with_a_readable_message():
    metrics = measured(DEV_SET.name) | {"unverified_rate": 0.0089}
    assert check_gate(DEV_SET.name, metrics) == [
        "cppcc_dev.jsonl: unverified_rate = 0.0089, must be ≤ 0"]


def test_a_path_names_its_set_and_unknown_sets_or_missing_metrics_fail():
    assert check_gate(DEV_SET, measured(DEV_SET.name)) == []
    assert "no gate thresholds for 'other.jsonl'" in check_gate("x/other.jsonl", {})[0]
    metrics = measured(DEV_SET.name)
    del metrics["mrr"]
    assert check_gate(DEV_SET.name, metrics) == ["cppcc_dev.jsonl: mrr is missing from the metrics"]
