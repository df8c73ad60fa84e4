"""The bundled model's questions run through ONNX Runtime with the same vectors as
sentence-transformers; anything unexpected leaves them on PyTorch."""

from __future__ import annotations

import logging
import re

import numpy as np
import onnx

from cppcc_kb.settings import Settings
from ingest.embedder import default_model_dir, load_embedder
from ingest.onnx_query import QUERY_GRAPH, QUERY_GRAPH_INT8, onnx_query_encoder

QUESTIONS = ["国旗法是哪天通过的？", "全年办理了多少件提案？", "what did the committee propose"]


def torch_vectors(model, texts):
    return model.encode(texts, prompt_name="query", normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)


def test_fp32_questions_run_on_onnx_with_sentence_transformers_own_vectors():
    exact = load_embedder(Settings(query_precision="fp32"))
    assert exact.query_encoder() is not None
    assert (default_model_dir(Settings()) / QUERY_GRAPH).is_file()
    for text, want in zip(QUESTIONS, torch_vectors(exact.model, QUESTIONS)):
        got = exact.embed_query(text)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert float(got @ want) > 0.9999
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5


def test_the_graph_is_exported_at_first_use_into_the_model_folder(embedder, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="cppcc_kb.build")
    encoder = onnx_query_encoder(embedder.model, tmp_path, "query")
    # the one-time build is announced, then timed (the first `serve` shows both)
    said = [r.getMessage() for r in caplog.records if r.name == "cppcc_kb.build"]
    assert said[0] == "exporting the model to an ONNX graph (once per machine) …"
    assert re.fullmatch(r"exporting the model .*: done in \d+\.\d s", said[1])
    assert encoder is not None and (tmp_path / QUERY_GRAPH).is_file()
    assert not list((tmp_path / "onnx").glob("*.tmp"))  # written whole, then renamed
    want = torch_vectors(embedder.model, QUESTIONS[:1])[0]
    assert float(encoder.encode(QUESTIONS[0]) @ want) > 0.9999
    # fused by ONNX Runtime's BERT optimizer: one Attention node per layer, no loose Softmax
    ops = {node.op_type for node in onnx.load(str(tmp_path / QUERY_GRAPH)).graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= ops and "Softmax" not in ops


def test_a_broken_graph_leaves_questions_on_pytorch(embedder, tmp_path, caplog):
    (tmp_path / "onnx").mkdir()
    (tmp_path / QUERY_GRAPH).write_bytes(b"not an onnx graph")
    assert onnx_query_encoder(embedder.model, tmp_path, "query") is None
    assert "queries stay on PyTorch" in caplog.text


def test_the_setting_turns_it_off(embedder):
    plain = load_embedder(Settings(onnx_queries=False))
    assert plain is not embedder and plain.query_encoder() is None
    want = torch_vectors(embedder.model, QUESTIONS[1:2])[0]
    assert float(plain.embed_query(QUESTIONS[1]) @ want) > 0.99999


def test_int8_precision_is_mixed_quantized_and_close_to_the_exact_vectors(embedder):
    fast = embedder
    encoder = fast.query_encoder()
    assert encoder is not None
    graph = default_model_dir(Settings()) / QUERY_GRAPH_INT8
    ops = [node.op_type for node in onnx.load(str(graph)).graph.node]
    assert "DynamicQuantizeLinear" in ops  # activations quantized at run time
    assert ops.count("MatMulNBits") == 12  # each feed-forward output keeps its 4-bit weights
    assert ops.count("QAttention") == 12 and "Attention" not in ops
    for text, want in zip(QUESTIONS, torch_vectors(embedder.model, QUESTIONS)):
        cosine = float(fast.embed_query(text) @ want)
        assert 0.999 <= cosine < 0.99999  # close, and not the exact vector


def test_the_default_precision_is_the_mixed_int8_graph(embedder):
    assert Settings().query_precision == "int8"
    assert embedder is load_embedder(Settings(query_precision="int8"))


def test_batches_are_sorted_by_tokens_so_they_pad_least(embedder):
    from ingest.onnx_query import length_batches

    # characters and tokens disagree: a long Latin word is few tokens, Chinese one token a
    # character, so the character order would pad a batch of "long" short texts
    texts = ["internationalization " * 6, "全年办理提案", "国家尊重和保障人权。本法自公布之日起施行。",
             "a b c d e f g h i j k l m n o p", "政协", "committee " * 10]
    tokenizer = embedder.model.tokenizer
    counts = [len(tokenizer("passage: " + t)["input_ids"]) for t in texts]
    batches = list(length_batches(tokenizer, texts, "passage: ", 2, 512))
    assert sorted(r for rows, _ in batches for r in rows) == list(range(len(texts)))
    widths = [feed["input_ids"].shape[1] for _, feed in batches]
    assert widths == sorted(widths)
    for rows, feed in batches:
        assert feed["input_ids"].dtype == np.int64
        assert feed["attention_mask"].sum(axis=1).tolist() == [counts[r] for r in rows]
        assert feed["input_ids"].shape[1] == max(counts[r] for r in rows)
    # the padding left is the least any batches of 2 could have
    padded = sum(f["attention_mask"].size for _, f in batches)
    best = sorted(counts)
    assert padded == sum(2 * max(best[i:i + 2]) for i in range(0, len(best), 2))
