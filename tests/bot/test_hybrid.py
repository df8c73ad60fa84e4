"""Rank fusion of the dense (embedding) and keyword (BM25) lists: reciprocal-rank fusion plus
small boosts for documents the question names by title or year."""

from __future__ import annotations

import pytest

from bot.hybrid import FusionWeights, fuse, rrf


def test_rrf_sums_weight_over_k_plus_rank():
    scores = rrf([(["a", "b"], 1.0), (["b", "c"], 1.0)], k=60)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["c"] == pytest.approx(1 / 62)


def test_rrf_weights_scale_each_list():
    scores = rrf([(["a"], 2.0), (["b"], 0.5)], k=0)
    assert scores == {"a": pytest.approx(2.0), "b": pytest.approx(0.5)}


def test_rrf_of_nothing_is_empty():
    assert rrf([], k=60) == {} and rrf([([], 1.0)], k=60) == {}


def test_an_item_in_both_lists_beats_items_in_one():
    ranked = fuse(["a", "b", "c"], ["c", "d", "b"], {}, FusionWeights())
    ids = [item for item, _ in ranked]
    assert set(ids[:2]) == {"b", "c"}  # in both lists
    assert set(ids) == {"a", "b", "c", "d"}
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_boosts_lift_named_documents_and_ignore_unknown_ids():
    plain = dict(fuse(["a", "b"], [], {}, FusionWeights()))
    boosted = fuse(["a", "b"], [], {"b": 0.02, "zzz": 1.0}, FusionWeights())
    assert [item for item, _ in boosted] == ["b", "a"]
    assert dict(boosted)["b"] == pytest.approx(plain["b"] + 0.02)
    assert "zzz" not in dict(boosted)  # a boost never adds a passage retrieval did not find


def test_keyword_weight_zero_ranks_by_the_dense_list_only():
    ranked = fuse(["a", "b"], ["b", "a"], {}, FusionWeights(keyword=0.0))
    assert [item for item, _ in ranked] == ["a", "b"]
