"""Retrieval helpers: filters as callers send them, documents a question names by title, and a
question about two named documents split into one question per document. The last tests run
HybridSearch over the shared-corpus knowledge base."""

from __future__ import annotations

import pytest

from bot.errors import QuestionError
from bot.retrieval import (Filters, current_doc, docs_compared, names_in, question_about,
                           short_title, titles_named)
from ingest.store import DocRecord


def record(doc_id: str, title: str, year: int = 0, years: list[int] | None = None) -> DocRecord:
    return DocRecord(doc_id=doc_id, title=title, source=f"{title}.md", sha256="0" * 64,
                     year=year, years=years or [])


RECORDS = {r.doc_id: r for r in [
    record("flag", "中华人民共和国国旗法", 2020),
    record("anthem", "中华人民共和国国歌法", 2017),
    record("constitution", "中华人民共和国宪法", 2018),
    record("amendment", "中华人民共和国宪法修正案", 2018),
    record("petitions", "信访工作条例", 2022),
    record("zibo", "淄博政协这一年|以实干实绩交出履职新答卷", 2026, [2025]),
]}
BOTH = "国旗法和国歌法分别是哪天施行的？"


# ---- chunk ids ----------------------------------------------------------------------------------
def test_a_chunk_id_counts_only_for_its_documents_committed_version():
    recs = {"a": DocRecord("a", "甲", "a.md", "0", version="0123456789abcdef"),
            "b": DocRecord("b", "乙", "b.md", "0", version="", pending_version="fedcba9876543210")}
    assert current_doc("a:0123456789ab:00003", recs) == "a"
    assert current_doc("a:ffffffffffff:00003", recs) is None  # another version (being written)
    assert current_doc("b:fedcba987654:00000", recs) is None  # never committed
    assert current_doc("gone:0123456789ab:00000", recs) is None  # removed


def test_names_are_found_where_the_question_first_says_them():
    found = names_in("《国旗法》和国歌法，国旗法", RECORDS)
    assert (1, "国旗法", "flag") in found and (6, "国歌法", "anthem") in found
    assert len([f for f in found if f[2] == "flag" and f[1] == "国旗法"]) == 1


# ---- Filters.parse ------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [None, {}])
def test_no_filters_allow_everything(raw):
    filters = Filters.parse(raw)
    assert filters == Filters() and not filters.active


def test_filters_take_lists_of_doc_ids_and_years():
    assert Filters.parse({"doc_ids": ["a", "b"], "years": [2025]}) == Filters(["a", "b"], [2025])


@pytest.mark.parametrize("raw, expected", [
    ({"doc_id": "doc-4013bb4127"}, Filters(["doc-4013bb4127"], [])),  # one id, as a string
    ({"doc_ids": "doc-4013bb4127"}, Filters(["doc-4013bb4127"], [])),
    ({"year": 2025}, Filters([], [2025])),  # one year, as a number…
    ({"years": "2025"}, Filters([], [2025])),  # …or a string of digits
    ({"years": ["2024", 2025]}, Filters([], [2024, 2025])),
])
def test_single_values_and_digit_strings_are_accepted(raw, expected):
    assert Filters.parse(raw) == expected
    assert Filters.parse(raw).active


@pytest.mark.parametrize("raw, says", [
    ({"docs": ["a"]}, "unknown filter(s) ['docs']"),
    ({"doc_ids": ["a"], "colour": "red"}, "unknown filter(s) ['colour']"),
    ({"years": ["二〇二五"]}, "years must be whole numbers like 2025"),
    ({"years": ["2025,2026"]}, "years must be whole numbers like 2025"),
    ({"years": [None]}, "years must be whole numbers like 2025"),
    ({"years": 2025.5}, "must be lists"),
    ({"doc_ids": {"a": 1}}, "must be lists"),
    ({"doc_ids": [1, 2]}, "doc_ids must be a list of document ids (strings)"),
])
def test_bad_filters_raise_a_question_error_that_says_what_to_send(raw, says):
    with pytest.raises(QuestionError) as err:
        Filters.parse(raw)
    assert says in str(err.value)


def test_the_unknown_key_message_names_the_keys_to_use():
    with pytest.raises(QuestionError, match="use doc_ids and/or years"):
        Filters.parse({"doc": "x"})


@pytest.mark.parametrize("raw", [["doc-4013bb4127"], "doc-4013bb4127", 2025])
def test_filters_that_are_not_a_mapping_are_a_question_error(raw):
    with pytest.raises(QuestionError):
        Filters.parse(raw)


def test_filters_allow_documents_by_id_and_by_any_year_they_are_about():
    by_year = Filters([], [2025])
    assert by_year.allows(RECORDS["zibo"])  # published 2026, about 2025
    assert not by_year.allows(RECORDS["flag"])
    assert Filters([], [2020]).allows(RECORDS["flag"])  # a record without `years` uses `year`
    both = Filters(["flag"], [2020])
    assert both.allows(RECORDS["flag"]) and not both.allows(RECORDS["anthem"])
    assert Filters().allows(RECORDS["anthem"])


# ---- titles ------------------------------------------------------------------------------------
def test_short_title_drops_the_state_name():
    assert short_title("中华人民共和国国旗法") == "国旗法"
    assert short_title("信访工作条例") == "信访工作条例"


def test_titles_named_by_full_or_short_title():
    assert titles_named("国旗法是哪天通过的？", RECORDS) == {"flag"}
    assert titles_named("《中华人民共和国国旗法》是哪天通过的", RECORDS) == {"flag"}
    assert titles_named("信访工作条例由谁解释？", RECORDS) == {"petitions"}
    assert titles_named("国旗的尺度有几种？", RECORDS) == set()  # 国旗 is not 国旗法


def test_titles_named_prefers_the_longest_name():
    # 宪法修正案 contains 宪法: the question names the amendment, not the constitution
    assert titles_named("宪法修正案是哪天通过的？", RECORDS) == {"amendment"}
    assert titles_named("宪法规定了什么？", RECORDS) == {"constitution"}


def test_titles_named_returns_every_name_of_the_longest_length():
    assert titles_named(BOTH, RECORDS) == {"flag", "anthem"}


# ---- docs_compared / question_about -------------------------------------------------------------
def test_docs_compared_lists_each_named_document_in_question_order():
    assert docs_compared(BOTH, RECORDS) == [("flag", "国旗法"), ("anthem", "国歌法")]
    assert docs_compared("国歌法与国旗法各自从哪天起施行？", RECORDS) == [
        ("anthem", "国歌法"), ("flag", "国旗法")]


def test_docs_compared_takes_the_longest_name_at_each_place():
    assert docs_compared("宪法和宪法修正案分别是哪天通过的？", RECORDS) == [
        ("constitution", "宪法"), ("amendment", "宪法修正案")]


def test_docs_compared_needs_a_word_that_joins_or_separates():
    assert docs_compared("国旗法是哪天施行的？", RECORDS) == []
    assert docs_compared("国旗法规定了什么？国歌法呢？", RECORDS) == []  # no 和/分别…


def test_question_about_one_document_leaves_the_others_out():
    names = ["国旗法", "国歌法"]
    assert question_about(BOTH, "国旗法", names) == "国旗法是哪天施行的？"
    assert question_about(BOTH, "国歌法", names) == "国歌法是哪天施行的？"
    assert question_about("《国旗法》与《国歌法》各自是哪天施行的？", "国歌法", names) == \
        "《国歌法》是哪天施行的？"


# ---- HybridSearch over the shared corpus ---------------------------------------------------------
def doc_id_titled(bot, title: str) -> str:
    return next(d for d, r in bot.kb.records().items() if r.title == title)


@pytest.mark.slow
def test_search_restricted_to_a_document_returns_only_its_passages(corpus_bot):
    flag = doc_id_titled(corpus_bot, "中华人民共和国国旗法")
    passages = corpus_bot.search.search("国歌应当在哪些场合奏唱", 8, Filters([flag]))
    assert passages and {p.doc_id for p in passages} == {flag}
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


@pytest.mark.slow
def test_search_with_a_year_no_document_is_about_returns_nothing(corpus_bot):
    assert corpus_bot.search.search("提案", 8, Filters([], [1999])) == []


@pytest.mark.slow
def test_search_finds_the_passage_holding_the_asked_figure(corpus_bot):
    passages = corpus_bot.search.search("淄博市政协2025年开展了多少场政策宣讲", 8)
    assert any("131场政策宣讲" in p.text for p in passages[:3])


@pytest.mark.slow
def test_a_prefetched_question_is_searched_with_its_own_vector(corpus_bot):
    search = corpus_bot.search
    question, other = "淄博市政协2025年开展了多少场政策宣讲", "国旗法是哪天通过的"
    plain = search.search(question, 8)
    search.prefetch(other)  # prefetched for a search that is not asked next
    search.prefetch(question)
    prefetched = search.search(question, 8)
    assert [p.chunk_id for p in prefetched] == [p.chunk_id for p in plain]
    assert question not in search._pending  # used once, then gone
    assert [p.chunk_id for p in search.search(other, 8)][:3] != [p.chunk_id for p in plain][:3]


def test_exact_dense_search_ranks_every_chunk_by_its_stored_vector(corpus_bot):
    """For fitting the answerer: the dense list by a scan of every committed chunk (Chroma's
    HNSW neighbours past the first few differ between processes), the same each time, and a
    filter keeps only its documents."""
    import numpy as np

    from bot.retrieval import HybridSearch, current_chunk_ids

    kb = corpus_bot.kb
    exact = HybridSearch(kb, exact=True)
    vector = kb.embedder.embed_query("国歌应当在哪些场合奏唱")
    records = kb.records()
    ids, vectors = kb.store.embeddings(current_chunk_ids(kb.keywords, set(records), records))
    expected = [ids[i] for i in np.argsort(-(vectors @ vector), kind="stable")[:40]]
    assert exact._dense(vector, None, records) == expected == exact._dense(vector, None, records)
    flag = doc_id_titled(corpus_bot, "中华人民共和国国旗法")
    assert {c.split(":")[0] for c in exact._dense(vector, {flag}, records)} == {flag}
