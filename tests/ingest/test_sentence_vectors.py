"""Sentence vectors stored with each chunk: one per answer sentence, in the shipped basis, and
a sentence repeated across chunks (a law's amended versions) embedded once."""

from __future__ import annotations

import numpy as np

from ingest.sentence_vectors import (RecentVectors, answer_spans, chunk_vectors, shipped_basis,
                                     unpack)

CHUNK = "第一条 为了规范国旗的使用，制定本法。第二条 本法自公布之日起施行。"
AMENDED = "第一条 为了规范国旗的使用，制定本法。第二条 本法自二〇二一年一月一日起施行。"


def recording(embedder):
    """The real sentence embedder, and the inputs of each call it was given."""
    asked = []

    def embed(texts):
        asked.append(list(texts))
        return embedder.embed_sentences(texts)

    return embed, asked


def test_each_sentence_is_embedded_once_and_every_chunk_gets_its_own_rows(embedder):
    basis = shipped_basis()
    embed, asked = recording(embedder)
    packed = chunk_vectors([CHUNK, AMENDED, CHUNK], ["国旗法"] * 3, embed, basis)
    assert len(asked) == 1 and len(asked[0]) == len(set(asked[0])) == 3
    rows = [unpack(p, basis.dim) for p in packed]
    assert [len(r) for r in rows] == [len(answer_spans(t)) for t in (CHUNK, AMENDED, CHUNK)]
    assert np.array_equal(rows[0], rows[2]) and np.array_equal(rows[0][0], rows[1][0])
    # the differing sentence has its own vector
    assert float(rows[0][1] @ rows[1][1]) < 0.99
    # and each stored vector is its sentence's own, as if embedded alone
    alone = basis.project(embedder.embed_sentences(["国旗法：第二条 本法自公布之日起施行。"]))[0]
    assert float(rows[0][1] @ alone) > 0.99


def test_a_chunk_without_answer_sentences_stores_nothing(embedder):
    packed = chunk_vectors(["第一章", CHUNK], ["国旗法", "国旗法"], embedder.embed_sentences,
                           shipped_basis())
    assert packed[0] == "" and packed[1]


def test_a_sentence_met_in_an_earlier_batch_of_the_run_is_not_embedded_again(embedder):
    basis = shipped_basis()
    embed, asked = recording(embedder)
    recent = RecentVectors(size=2)
    first = chunk_vectors([CHUNK], ["国旗法"], embed, basis, recent)
    second = chunk_vectors([AMENDED], ["国旗法"], embed, basis, recent)
    assert asked[1] == ["国旗法：第二条 本法自二〇二一年一月一日起施行。"]  # 第一条 was known
    assert np.array_equal(unpack(first[0], basis.dim)[0], unpack(second[0], basis.dim)[0])
    # it holds the last `size` inputs: the oldest one met is forgotten, and embedded again
    chunk_vectors(["第三条 国旗是中华人民共和国的象征和标志。"], ["国旗法"], embed, basis, recent)
    chunk_vectors([CHUNK], ["国旗法"], embed, basis, recent)
    assert asked[3] == ["国旗法：第一条 为了规范国旗的使用，制定本法。",
                        "国旗法：第二条 本法自公布之日起施行。"]
