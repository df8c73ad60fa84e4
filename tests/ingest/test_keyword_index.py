"""The BM25 keyword index (ingest/keyword_index.py) and what each chunk looks like to the indexes
(ingest/indexing.py), on tiny literals."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.indexing import (PIPELINE_VERSION, chunk_metadata, content_version, doc_id_for,
                             index_text, years_covered)
from ingest.keyword_index import INDEX_FILE, KeywordIndex
from ingest.splitter import Chunk


def rows(doc_id: str, *token_lists: list[str]) -> list[tuple[str, str, list[str]]]:
    return [(f"{doc_id}:v:{i:05d}", doc_id, tokens) for i, tokens in enumerate(token_lists)]


def ranked(index: KeywordIndex, query: list[str], k: int = 10) -> list[str]:
    return [index.ids[row] for row, _ in index.top(query, k)]


@pytest.fixture
def index() -> KeywordIndex:
    idx = KeywordIndex().replace_docs(
        set(), rows("a", ["政协", "提案", "提案", "办理"], ["政协", "委员", "履职"]), {"a": "v1"})
    return idx.replace_docs(set(), rows("b", ["国歌", "奏唱", "场合"], ["国歌", "尊严", "政协"]),
                            {"b": "v1"})


# --- BM25 ranking ------------------------------------------------------------------------------

def test_rows_holding_the_query_terms_rank_first_and_others_not_at_all(index):
    assert ranked(index, ["提案"]) == ["a:v:00000"]
    assert set(ranked(index, ["国歌"])) == {"b:v:00000", "b:v:00001"}
    assert ranked(index, ["不存在的词"]) == []
    assert ranked(index, []) == []


def test_rows_with_a_word_are_every_row_holding_it(index):
    assert sorted(index.rows_with("政协")) == [0, 1, 3]
    assert index.rows_with("不存在的词") == [] and KeywordIndex().rows_with("政协") == []


def test_rows_with_a_word_within_some_rows_are_those_of_them_holding_it(index):
    assert index.rows_with("政协", within=index.rows_of({"b"})) == [3]
    assert index.rows_with("政协", within=[3, 0, 2]) == [3, 0]  # in the order asked
    assert index.rows_with("政协", within=[]) == []
    assert index.rows_with("提案", within=[3]) == [] and index.rows_with("无", within=[0]) == []


def test_rare_terms_weigh_more_than_common_ones(index):
    # 政协 is in three rows, 尊严 in one: the row with both beats rows with only 政协.
    assert ranked(index, ["政协", "尊严"])[0] == "b:v:00001"
    s = index.scores(["政协", "尊严"])
    assert s[index.ids.index("b:v:00001")] > max(s[index.ids.index("a:v:00000")],
                                                 s[index.ids.index("a:v:00001")])


def test_term_frequency_counts_with_saturation_and_length_normalisation():
    idx = KeywordIndex().replace_docs(
        set(), rows("d", ["提案"], ["提案", "提案"], ["提案", "提案"] + ["其他"] * 20, ["别的"]),
        {"d": "v"})
    s = idx.scores(["提案"])
    assert s[1] > s[0] > 0  # more occurrences score higher ...
    assert s[1] < 2 * s[0]  # ... but saturate (k1)
    assert s[2] < s[1]  # the same count in a much longer row scores less (b)
    assert s[3] == 0


def test_repeated_query_terms_count_once(index):
    assert np.allclose(index.scores(["提案"]), index.scores(["提案", "提案", "提案"]))


def test_top_respects_k_and_a_mask(index):
    assert len(index.top(["政协"], 2)) == 2
    mask = np.array([d == "b" for d in index.doc_ids])
    assert len(ranked(index, ["政协"])) == 3
    assert [index.ids[row] for row, _ in index.top(["政协"], 10, mask)] == ["b:v:00001"]


def test_document_frequency(index):
    assert index.document_frequency("政协") == 3
    assert index.document_frequency("国歌") == 2
    assert index.document_frequency("没有") == 0


# --- replace_docs ------------------------------------------------------------------------------

def test_replace_docs_drops_every_row_of_a_document_and_adds_the_new_ones(index):
    old = index
    index = index.replace_docs({"a"}, rows("a", ["新", "版本", "内容"]), {"a": "v2"})
    assert ranked(old, ["提案"]) == ["a:v:00000"] and old.versions["a"] == "v1"  # untouched
    assert ranked(index, ["提案"]) == []  # the old text is gone ...
    assert ranked(index, ["版本"]) == ["a:v:00000"]  # ... the new one is found
    assert index.doc_ids.count("a") == 1 and index.doc_ids.count("b") == 2
    assert index.versions == {"a": "v2", "b": "v1"}
    assert index.document_frequency("政协") == 1  # statistics follow the removal


def test_replace_docs_removes_a_document_entirely(index):
    index = index.replace_docs({"b"}, [], {})
    assert set(index.doc_ids) == {"a"} and "b" not in index.versions
    assert ranked(index, ["国歌"]) == []
    assert set(ranked(index, ["政协"])) == {"a:v:00000", "a:v:00001"}


def test_an_empty_index_answers_nothing():
    idx = KeywordIndex()
    assert len(idx) == 0 and idx.top(["政协"], 5) == [] and len(idx.scores(["政协"])) == 0
    assert len(idx.replace_docs({"x"}, [], {})) == 0


def test_incremental_updates_score_like_a_fresh_build(index):
    index = index.replace_docs({"a"}, rows("a", ["政协", "新词"]), {"a": "v2"})
    fresh = KeywordIndex().replace_docs(
        set(), rows("b", ["国歌", "奏唱", "场合"], ["国歌", "尊严", "政协"]), {"b": "v1"})
    fresh = fresh.replace_docs(set(), rows("a", ["政协", "新词"]), {"a": "v2"})
    for query in (["政协"], ["国歌", "新词"], ["尊严", "政协"]):
        mine = dict(zip(index.ids, index.scores(query)))
        theirs = dict(zip(fresh.ids, fresh.scores(query)))
        assert mine.keys() == theirs.keys()
        assert all(abs(mine[k] - theirs[k]) < 1e-5 for k in mine)


# --- persistence -------------------------------------------------------------------------------

def test_save_and_load_round_trip(index, tmp_path):
    index.generation = 7
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path)
    assert loaded.ids == index.ids and loaded.doc_ids == index.doc_ids
    assert loaded.versions == index.versions and loaded.generation == 7
    assert loaded.vocab == index.vocab
    for query in (["政协"], ["国歌", "尊严"], ["提案"]):
        assert np.allclose(loaded.scores(query), index.scores(query))
    loaded = loaded.replace_docs({"a"}, [], {})  # a loaded index keeps working incrementally
    assert ranked(loaded, ["提案"]) == [] and ranked(loaded, ["国歌"])
    assert [p.name for p in tmp_path.iterdir()] == [INDEX_FILE]  # no temp file left


def test_a_missing_or_unreadable_index_loads_empty_for_a_rebuild(tmp_path):
    assert len(KeywordIndex.load(tmp_path / "absent")) == 0
    (tmp_path / INDEX_FILE).write_bytes(b"not an npz file")
    broken = KeywordIndex.load(tmp_path)
    assert len(broken) == 0 and broken.generation == -1  # -1: stale against any store


# --- indexing.py -------------------------------------------------------------------------------

def test_doc_ids_are_stable_per_file_name_and_versions_per_content():
    assert doc_id_for("报告.txt") == doc_id_for("报告.txt") != doc_id_for("报告2.txt")
    assert doc_id_for("报告.txt").startswith("doc-") and len(doc_id_for("报告.txt")) == 14
    assert content_version(b"abc") == content_version(b"abc") != content_version(b"abd")
    assert len(content_version(b"abc")) == 16
    assert PIPELINE_VERSION  # part of every version: a new pipeline re-indexes everything


def test_index_text_adds_title_headings_and_article_for_search():
    chunk = Chunk("为了规范工作，制定本法。", 0, 12, 0, ["第一章 总则"], "article", "第一条")
    assert index_text(chunk, "某某法") == "某某法 第一章 总则 第一条\n为了规范工作，制定本法。"
    starts_with_number = Chunk("第一条 为了规范工作。", 0, 11, 0, [], "article", "第一条")
    assert index_text(starts_with_number, "某某法") == "某某法\n第一条 为了规范工作。"
    header = Chunk("发布日期：2025年", 0, 9, 0, [], "header")
    assert index_text(header, "某某法") == "发布日期：2025年"  # the header names the title itself


def test_chunk_metadata_is_flat_and_carries_the_document_fields():
    chunk = Chunk("正文", 5, 7, 3, ["一", "二"], "article", "第三条")
    doc = {"doc_id": "doc-1", "version": "v9", "title": "标题", "source": "a.txt", "year": "2024",
           "date": "2024-01-02", "kind": "law"}
    meta = chunk_metadata(chunk, doc)
    assert meta == {"doc_id": "doc-1", "version": "v9", "title": "标题", "source": "a.txt",
                    "year": 2024, "date": "2024-01-02", "doc_kind": "law", "position": 3,
                    "start": 5, "end": 7, "headings": "一 > 二", "kind": "article",
                    "article": "第三条"}
    assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())


def test_years_covered_is_what_the_text_keeps_returning_to_else_the_own_year():
    text = "回顾2024年工作。2024年成绩显著。2019年曾经提到一次。展望2025年。"
    assert years_covered(text, 2025) == [2024]  # a 2025 piece about 2024's work
    assert years_covered("2019年提到一次。", 2025) == [2025]
    assert years_covered("2020年和2020年写在页眉\n<!-- INFO END -->\n正文", 2023) == [2023]
    assert years_covered(text, 2018, "law") == [2018]  # a law: its version's year


def test_rows_of_documents_in_a_rebuilt_index(index):
    assert [index.ids[i] for i in index.rows_of({"b"})] == ["b:v:00000", "b:v:00001"]
    assert sorted(index.rows_of({"a", "b", "gone"})) == [0, 1, 2, 3]
    smaller = index.replace_docs({"a"}, rows("c", ["国旗"]), {"c": "v1"})
    assert sorted(smaller.ids[i] for i in smaller.rows_of({"b", "c"})) == [
        "b:v:00000", "b:v:00001", "c:v:00000"]
    assert smaller.rows_of({"a"}) == [] and len(index.rows_of({"a"})) == 2  # old one untouched
