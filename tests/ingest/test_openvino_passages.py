"""Passages in bf16 on OpenVINO: nearly the exact vectors, each in its own
row; a new store records bf16, an older store keeps its precision, and a mix is refused."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from cppcc_kb.settings import Settings
from ingest.embedder import default_model_dir
from ingest.errors import EmbedderError
from ingest.kb import KnowledgeBase
from ingest.openvino_passages import openvino_encoder
from ingest.pipeline import ingest_paths
from ingest.sentence_vectors import META_KEY
from tests.support.docs import TOPICS, write_topic

# different lengths, so the length-sorted batches reorder them
TEXTS = ["全年636件提案承载民意，167场次协商激荡智慧。",
         "国家尊重和保障人权。",
         "中华人民共和国国旗法 第五条 下列场所或者机构所在地，应当每日升挂国旗：北京天安门广场、"
         "新华门；中国共产党中央委员会，全国人民代表大会常务委员会，国务院，中央军事委员会。",
         "政协委员围绕乡村振兴开展专题调研，形成调研报告12篇。",
         "本法自公布之日起施行。"]


def exact(model, texts):
    return model.encode(texts, prompt_name="passage", normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)


def test_bf16_passages_are_the_exact_vectors_to_five_places_each_in_its_own_row(embedder):
    got = embedder.embed_passages(TEXTS, batch_size=2, precision="bf16")
    want = exact(embedder.model, TEXTS)
    assert got.shape == want.shape and got.dtype == np.float32
    cosines = got @ want.T
    assert np.all(np.diag(cosines) >= 0.9999)
    # each row is its own text's vector, not a neighbour's from the reordered batches
    assert np.all(np.argmax(cosines, axis=1) == np.arange(len(TEXTS)))
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_sentence_vector_is_its_own_whatever_is_embedded_beside_it(embedder):
    # The int8 graph scaled activations per batch: the same sentence among other batch-mates
    # came out at cosine ~0.996, and answers depended on which files were ingested together.
    among = embedder.embed_sentences(TEXTS)
    for i, text in enumerate(TEXTS):
        alone = embedder.embed_sentences([text])[0]
        assert float(alone @ among[i]) >= 0.99999
    assert np.all(np.sum(among * exact(embedder.model, TEXTS), axis=1) >= 0.9999)
    assert np.allclose(np.linalg.norm(among, axis=1), 1.0, atol=1e-5)


def test_where_openvino_cannot_run_sentences_come_from_the_int8_graph_asked_once(embedder):
    from ingest.embedder import Embedder

    tried = []

    def no_openvino():
        tried.append(1)
        raise EmbedderError("OpenVINO is not installed")

    plain = Embedder(embedder.model, embedder.name, make_sentence_encoder=embedder.sentence_encoder,
                     make_passage_encoder=no_openvino)
    first, again = plain.embed_sentences(TEXTS), plain.embed_sentences(TEXTS[:2])
    assert len(tried) == 1  # not re-tried (and re-warned) for every batch of an ingest
    int8 = embedder.sentence_encoder()
    assert np.array_equal(first, int8.encode_many(TEXTS, int8.prefix))
    assert np.all(np.sum(first * exact(embedder.model, TEXTS), axis=1) >= 0.99)
    assert again.shape == (2, first.shape[1])


def ingest_one(settings, embedder, folder, name, topic):
    write_topic(folder, name, topic, paragraphs=1)
    summary = ingest_paths([folder / name], settings, kb=KnowledgeBase(settings, embedder))
    assert not summary.failed, summary.failed
    return KnowledgeBase(settings, embedder)


def test_a_new_store_is_built_in_bf16_with_its_sentence_vectors(settings, embedder, tmp_path):
    assert Settings().passage_precision == "bf16"
    kb = ingest_one(settings, embedder, tmp_path / "docs", "a.md", TOPICS[0])
    assert kb.passage_precision() == "bf16"
    metas = kb.store.chunks.get(include=["metadatas"])["metadatas"]
    assert metas and all(m[META_KEY] for m in metas)


def test_an_int8_store_keeps_int8_and_an_explicit_other_precision_is_refused(
        tmp_path, embedder):
    data = tmp_path / "kb"
    kb = ingest_one(Settings(data=data, passage_precision="int8"), embedder,
                    tmp_path / "docs", "a.md", TOPICS[0])
    assert kb.passage_precision() == "int8"
    # the default setting follows the store: new documents are int8 too
    kb = ingest_one(Settings(data=data), embedder, tmp_path / "docs", "b.md", TOPICS[1])
    assert kb.passage_precision() == "int8" and len(kb.records()) == 2
    with pytest.raises(EmbedderError, match="embedded in int8.*asks for bf16.*NEW_DIR"):
        ingest_one(Settings(data=data, passage_precision="bf16"), embedder,
                   tmp_path / "docs", "c.md", TOPICS[2])
    assert len(KnowledgeBase(Settings(data=data), embedder).records()) == 2  # nothing lost


def test_without_openvino_the_message_says_how_to_install_it(embedder, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    with pytest.raises(EmbedderError, match="pip install openvino==.*PASSAGE_PRECISION=int8"):
        openvino_encoder(embedder.model, default_model_dir(Settings()), "passage")
