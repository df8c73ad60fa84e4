"""The bundled e5 model's passages run by OpenVINO in bf16.

An ingest is a long run of short texts in batches, all in the model. Measured on this project's
2-core machine (AVX-512 with BF16; e5-small, the shared corpus's 903 chunks, length-sorted
batches of 16): sentence-transformers fp32 26.9 chunks/s, the mixed int8 ONNX graph 47.5/s
(cosine to the exact vectors >= 0.9997), OpenVINO bf16 62-64/s (cosine >= 0.99999). The
answerer's sentence vectors run here too, cut at 128 tokens (ingest/embedder.py says why).
bf16 keeps fp32's exponent and rounds only the mantissa, so the vectors stay almost exact where
int8 loses a little. On a CPU without bf16 arithmetic OpenVINO computes the same graph in fp32
(the vectors are then the exact ones, the speed that of fp32: ~34/s here).

The graph is the fused fp32 ONNX graph the questions' encoder exports (ingest/onnx_query.py),
read and compiled at the first ingest (~1.3 s); it is used only after its vectors have been
checked against sentence-transformers' own (cosine 0.9999 on the probes).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ingest.errors import EmbedderError
from ingest.onnx_query import PROBES, _fp32_graph, length_batches, mean_pooled

AGREEMENT = 0.9999


class OpenVinoEncoder:
    precision = "bf16"

    def __init__(self, compiled, tokenizer, prefix: str, max_length: int):
        self.compiled, self.tokenizer = compiled, tokenizer
        self.prefix, self.max_length = prefix, max_length
        self.requests = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._lock = threading.Lock()  # one batch run at a time keeps every core on it

    def encode_many(self, texts: list[str], prefix: str, batch: int = 16,
                    max_length: int | None = None) -> np.ndarray:
        """Length-sorted batches, as many in flight as the compiled model has streams (one per
        core here): both cores busy, almost no padding. Each text's vector is its own: no scale
        is shared across a batch, so batch-mates do not move it."""
        import openvino as ov

        out = np.zeros((len(texts), 0), dtype=np.float32)
        if not texts:
            return out
        pending: dict[int, tuple[list[int], np.ndarray]] = {}  # batch key -> rows, mask
        found: dict[int, tuple[list[int], np.ndarray]] = {}  # batch key -> rows, vectors

        def done(request, key):
            rows, mask = pending.pop(key)
            found[key] = (rows, mean_pooled(request.get_output_tensor(0).data, mask))

        with self._lock:
            queue = ov.AsyncInferQueue(self.compiled, self.requests)
            queue.set_callback(done)
            for key, (rows, feed) in enumerate(length_batches(
                    self.tokenizer, texts, prefix, batch, max_length or self.max_length)):
                pending[key] = (rows, feed["attention_mask"])
                queue.start_async({"input_ids": feed["input_ids"],
                                   "attention_mask": feed["attention_mask"]}, key)
            queue.wait_all()
        for rows, vectors in found.values():
            if not out.shape[1]:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out


def openvino_encoder(model, folder: Path, prompt_name: str | None) -> OpenVinoEncoder:
    """The encoder for `model`'s passages, from its fused fp32 graph in `folder` (exported
    there first if missing). Raises EmbedderError, naming the cause and the fix, when OpenVINO
    is not installed, the model has another shape, or the vectors disagree."""
    try:
        import openvino as ov
    except ImportError:
        raise EmbedderError(
            "passages in bf16 run on OpenVINO, which is not installed: pip install "
            "openvino==2026.4.1 (a dependency of cppcc-kb), or build a new knowledge base with "
            "CPPCC_KB_PASSAGE_PRECISION=int8") from None
    exported = _fp32_graph(model, folder, prompt_name)
    if exported is None:
        raise EmbedderError("passages in bf16 need a BERT model with mean pooling (the bundled "
                            "e5); set CPPCC_KB_PASSAGE_PRECISION=fp32 for this embedder")
    graph, prefix = exported
    core = ov.Core()
    bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    threads = os.cpu_count() or 1
    compiled = core.compile_model(core.read_model(str(graph)), "CPU", {
        "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
        "PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_NUM_THREADS": threads})
    encoder = OpenVinoEncoder(compiled, model.tokenizer, prefix, model.max_seq_length)
    expected = model.encode(list(PROBES), prompt_name=prompt_name, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
    got = encoder.encode_many(list(PROBES), prefix)
    worst = float(np.min(np.sum(got * expected, axis=1)))
    if worst < AGREEMENT:
        raise EmbedderError(
            f"OpenVINO's passage vectors disagree with the model's (cosine {worst:.5f} < "
            f"{AGREEMENT}); build the knowledge base with CPPCC_KB_PASSAGE_PRECISION=int8")
    return encoder
