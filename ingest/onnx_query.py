"""The bundled e5 model's query side run by ONNX Runtime: same weights, same pooling.

A member's question is one short text (about 20 tokens). PyTorch spends most of such a call on
per-operation overhead: measured here on one thread, ~60 ms through sentence-transformers
against ~20 ms through ONNX Runtime (14.5 ms on two), with vectors that agree to cosine 1.0000.
Passages (batches) keep going through sentence-transformers, where the two run at the same
speed. The graph is exported once from the loaded model into the model folder, its attention,
layer norms and GELUs fused by ONNX Runtime's BERT optimizer (another ~12 %: fewer, larger
kernels; the arithmetic is the same). By default (CPPCC_KB_QUERY_PRECISION=int8) queries run
on a mixed int8/4-bit form of it (ingest/query_quant.py), ~25 % faster again. Either graph is used
only after it has been checked against sentence-transformers' own vectors (cosine 0.9999 for
fp32, 0.999 for int8); anything unexpected leaves queries on PyTorch.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ingest.build_steps import build_step

log = logging.getLogger(__name__)
QUERY_GRAPH = "onnx/query-fused.onnx"
# CPPCC_KB_QUERY_PRECISION=int8: the fused graph in mixed int8/4-bit (ingest/query_quant.py),
# made once beside it. Its weights fit the L3 cache: ~11 ms a question instead of ~15.
QUERY_GRAPH_INT8 = "onnx/query-mixed-int8.onnx"
# The answerer's sentence vectors (ingest/sentence_vectors.py) where OpenVINO cannot run them in
# bf16 (ingest/embedder.py): plain dynamic int8, per channel. Its vectors are ~0.996 cosine to
# the exact ones, and move a little with their batch-mates; it embeds sentences ~2x faster than
# PyTorch and ~1.4x faster than the mixed graph.
SENTENCE_GRAPH = "onnx/sentence-int8.onnx"
SENTENCE_TOKENS = 128  # a sentence longer than this is cut for its vector (read whole anyway)
# earlier versions' graphs: unfused (~470 MB), and plain dynamic int8 (lost retrieval quality)
_OLD_GRAPHS = ("onnx/query.onnx", "onnx/query-fused-int8.onnx")
PROBES = ("2025年淄博市政协全年提案数量是多少？", "监察法规定留置最长多久？", "政协委员 调研 建议")
_AGREEMENT = {"fp32": 0.9999, "int8": 0.999}


class OnnxQueryEncoder:
    def __init__(self, session, tokenizer, prefix: str, max_length: int,
                 precision: str = "fp32"):
        self.session, self.tokenizer = session, tokenizer
        self.prefix, self.max_length = prefix, max_length
        self.precision = precision  # of the graph: fp32 | int8 (mixed)

    def feed(self, text: str) -> dict[str, np.ndarray]:
        enc = self.tokenizer([self.prefix + text], return_tensors="np", truncation=True,
                             max_length=self.max_length)
        return {"input_ids": enc["input_ids"].astype(np.int64),
                "attention_mask": enc["attention_mask"].astype(np.int64)}

    def encode_many(self, texts: list[str], prefix: str, batch: int = 32) -> np.ndarray:
        """Passages in batches of similar length (little padding); an int8 graph runs them
        1.5-2x faster than PyTorch (bench/README.md)."""
        out: np.ndarray | None = None
        for rows, feed in length_batches(self.tokenizer, texts, prefix, batch, self.max_length):
            vectors = mean_pooled(self.session.run(None, feed)[0], feed["attention_mask"])
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def encode(self, text: str) -> np.ndarray:
        inputs = self.feed(text)
        mask = inputs["attention_mask"]
        hidden = self.session.run(None, inputs)[0]
        weights = mask[..., None].astype(np.float32)
        vector = (hidden * weights).sum(axis=1)[0] / weights.sum()
        return (vector / np.linalg.norm(vector)).astype(np.float32)


def length_batches(tokenizer, texts: list[str], prefix: str, batch: int, max_length: int):
    """(rows, model inputs) for `texts` in batches of equal token counts where they can be,
    shortest first: a batch pads to its longest text, and the model's time follows the padded
    tokens. Sorted by tokens, not characters: on 2,503 sentences and 949 chunks of 20 laws the
    character order left 14 % padding, and the token order runs 15 % more texts a second (cosine
    >= 0.99999 to the vectors of the character order: only the padded width moved)."""
    ids = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length,
                    add_special_tokens=True)["input_ids"]
    pad = tokenizer.pad_token_id or 0
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    for at in range(0, len(order), batch):
        rows = order[at:at + batch]
        width = max(len(ids[i]) for i in rows)
        input_ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, i in enumerate(rows):
            input_ids[j, :len(ids[i])] = ids[i]
            mask[j, :len(ids[i])] = 1
        yield rows, {"input_ids": input_ids, "attention_mask": mask}


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling and normalisation over a batch's token states."""
    weights = mask[..., None].astype(np.float32)
    vectors = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def onnx_query_encoder(model, folder: Path, prompt_name: str | None,
                       precision: str = "fp32") -> OnnxQueryEncoder | None:
    """An encoder for `model` (a sentence-transformers BERT with mean pooling and
    normalisation) from `folder/QUERY_GRAPH` (or its int8 form), exported there first if
    missing; None when the model has another shape, the export fails, or its vectors disagree."""
    try:
        exported = _fp32_graph(model, folder, prompt_name)
        if exported is None:
            return None
        graph, prefix = exported
        encoder = OnnxQueryEncoder(None, model.tokenizer, prefix, model.max_seq_length, precision)
        if precision == "int8":  # calibrated on questions fed as the encoder will feed them
            graph = _quantized(graph, folder / QUERY_GRAPH_INT8, encoder.feed)
        encoder.session = _session(graph)
        if not _agrees(encoder, model, prompt_name, _AGREEMENT[precision]):
            log.warning("ONNX query graph %s disagrees with the model; queries stay on PyTorch",
                        graph)
            return None
        return encoder
    except Exception as exc:  # an accelerator: any failure leaves the plain path in charge
        log.warning("queries stay on PyTorch (ONNX Runtime not usable: %s)", exc)
        return None


def onnx_sentence_encoder(model, folder: Path, prompt_name: str | None
                          ) -> OnnxQueryEncoder | None:
    """The plain int8 encoder for sentences, built once from the fp32 graph; None when it
    cannot be made or disagrees with the model (cosine < 0.99 on the probes)."""
    try:
        exported = _fp32_graph(model, folder, prompt_name)
        if exported is None:
            return None
        graph, prefix = exported
        target = folder / SENTENCE_GRAPH
        if not target.exists():
            with build_step("quantizing the sentence graph to int8 (once per machine)"):
                _written_whole(target, lambda path: _quantize_plain(graph, path))
        encoder = OnnxQueryEncoder(_session(target), model.tokenizer, prefix, SENTENCE_TOKENS,
                                 "int8-plain")
        expected = model.encode(list(PROBES), prompt_name=prompt_name,
                                normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)
        got = encoder.encode_many(list(PROBES), prefix)
        if float(np.min(np.sum(got * expected, axis=1))) < 0.99:
            log.warning("the int8 sentence graph disagrees with the model; sentences stay on "
                        "PyTorch")
            return None
        return encoder
    except Exception as exc:  # an accelerator: any failure leaves the plain path in charge
        log.warning("sentences stay on PyTorch (ONNX Runtime not usable: %s)", exc)
        return None


def _quantize_plain(graph: Path, path: str) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with without_preprocess_advice():
        quantize_dynamic(str(graph), path, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


class _PreprocessAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextmanager
def without_preprocess_advice():
    """ONNX Runtime's quantizer tells the root logger, twice, to pre-process image models;
    the graphs here are built for the quantizer already, so the advice would only alarm staff
    watching the first `serve`. Any other warning still shows."""
    advice = _PreprocessAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)


def _fp32_graph(model, folder: Path, prompt_name: str | None) -> tuple[Path, str] | None:
    """The model's fp32 graph in `folder` (exported there first if missing) and the prompt
    prefix its texts get; None when the model is not BERT → mean pooling → normalise."""
    hf, pooling = _parts(model)
    if hf is None or pooling != "mean":
        return None
    graph = folder / QUERY_GRAPH
    if not graph.exists():
        _export(hf, model.tokenizer, graph)
    return graph, (getattr(model, "prompts", {}) or {}).get(prompt_name or "", "")


def _session(graph: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Measured on one short question: 1 thread 20 ms, 2 threads 14.5 ms on idle cores; with
    # one core busy, spinning threads lose (29 and 38 ms) and sleeping ones do not (20, 22).
    options.intra_op_num_threads = min(2, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def _parts(model):
    """(the BERT module, pooling mode) when the model is Transformer → Pooling → Normalize."""
    modules = list(model.children())
    names = [type(m).__name__ for m in modules]
    if names != ["Transformer", "Pooling", "Normalize"]:
        return None, ""
    hf = getattr(modules[0], "auto_model", None)
    pooling = modules[1].get_config_dict().get("pooling_mode", "")
    if type(hf).__name__ != "BertModel":
        return None, ""
    return hf, pooling


def _export(hf, tokenizer, graph: Path) -> None:
    def write(path: str) -> None:
        _trace(hf, tokenizer, path)
        _fuse(path, hf.config)

    with build_step("exporting the model to an ONNX graph (once per machine)"):
        _written_whole(graph, write)
    _drop_old(graph.parent.parent)


def _drop_old(folder: Path) -> None:
    for old in _OLD_GRAPHS:
        (folder / old).unlink(missing_ok=True)


def _written_whole(target: Path, write) -> None:
    """`write(path)` into a temporary file beside target, then renamed over it: a reader sees
    no graph or a whole one, and a failed write leaves nothing behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _trace(hf, tokenizer, path: str) -> None:
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = tokenizer(["query: 样例"], return_tensors="pt")
    # Eager attention traces to the MatMul/Softmax pattern the optimizer fuses; SDPA does not.
    attention = hf.config._attn_implementation
    hf.set_attn_implementation("eager")
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python control flow
            torch.onnx.export(
                LastHidden(hf.eval()), (sample["input_ids"], sample["attention_mask"]), path,
                input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                              "attention_mask": {0: "batch", 1: "tokens"},
                              "last_hidden_state": {0: "batch", 1: "tokens"}},
                opset_version=17, dynamo=False)
    finally:
        hf.set_attn_implementation(attention)


def _fuse(path: str, config) -> None:
    """Fuse the graph in place; a graph the optimizer cannot fuse whole stays as traced."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        fused = optimize_model(path, model_type="bert", num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size)
        stats = fused.get_fused_operator_statistics()
        if stats.get("Attention", 0) != config.num_hidden_layers:
            log.info("attention not fused (%s); the query graph stays unfused", stats)
            return
        fused.save_model_to_file(path)
    except Exception as exc:  # an optimisation: the traced graph is correct without it
        log.info("the query graph stays unfused (%s)", exc)


def _quantized(graph: Path, target: Path, feed) -> Path:
    if not target.exists():
        from ingest.query_quant import write_quantized

        with build_step("building the mixed int8 question graph (once per machine)"):
            _written_whole(target, lambda path: write_quantized(graph, path, feed))
        _drop_old(graph.parent.parent)
    return target


def _agrees(encoder: OnnxQueryEncoder, model, prompt_name: str | None,
            agreement: float) -> bool:
    expected = model.encode(list(PROBES), prompt_name=prompt_name, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
    return all(float(encoder.encode(text) @ want) >= agreement
               for text, want in zip(PROBES, expected))
