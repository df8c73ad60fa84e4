"""Sentence vectors stored with each chunk, for the answerer to tell a passage's sentences apart.

Retrieval finds the passage; which of its sentences answers is a finer question. Held out by
document on CMRC 2018, e5 similarity of the question to each sentence *read with its document's
title* ("title：sentence") lifts the choice of sentence by several points over lexical features
alone (evals/fit_answerer.py reports it). Embedding sentences at question time costs ~30 ms a
passage, so they are embedded at ingest, beside the chunk, and stored in its metadata:

- each sentence of the chunk that the answerer reads (`sentence_spans`, 4 characters or more),
  embedded as "title：sentence" with the model's passage prompt;
- projected onto a fixed 128-dimensional basis (centred; PCA of e5 sentence vectors, fitted by
  evals/fit_sentence_basis.py and shipped as sentence_basis.npz). The number of dimensions is
  measured, not guessed: on 150 CMRC questions the gold sentence ranked first by cosine alone
  0.88 of the time with all 384 dimensions, 0.90 with 128, 0.85 with 96 and 0.76 with 64 (the
  basis before 2026-12-06, which held the answerer's sentence similarity back: alone it picked
  the gold sentence of 2,715 held-out CMRC questions 0.69 of the time, 0.79 with 128). On
  1,000 CMRC questions (2026-12-07, as stored: int8 queries, bf16 sentences) 192 dimensions
  rank the gold sentence first 0.874 of the time against 0.863 with 128, on both halves of the
  documents; but with the answerer refitted on them, held out, CMRC went only 0.871 -> 0.873
  while cppcc_dev fell 0.954 -> 0.923 and seed_dev 1.0 -> 0.9: 128 stays;
- normalised and quantised to int8, packed as base64 (about 170 bytes a sentence).

A store whose vectors are in another basis is found by `cppcc-kb check` and re-made by
`cppcc-kb check --repair`.

Pure functions: the embedder is passed in.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from ingest.splitter import sentence_spans

BASIS_FILE = Path(__file__).with_name("sentence_basis.npz")
MIN_SENTENCE = 4  # shorter spans are not answers (the answerer skips them too)
META_KEY = "sentence_vectors"
BASIS_KEY = "sentence_basis"  # which basis the chunk's vectors are in (Basis.tag)


@dataclass(frozen=True)
class Basis:
    """Centre and orthonormal rows: x -> normalise(components @ (x - mean))."""

    mean: np.ndarray
    components: np.ndarray
    embedder: str  # the embedder it was fitted for

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @cached_property
    def tag(self) -> str:
        """A short fingerprint: vectors in another basis are not comparable with this one
        (read for every passage of every answer: hashed once)."""
        import hashlib

        return hashlib.sha256(self.components.tobytes()).hexdigest()[:10]

    def project(self, vectors: np.ndarray) -> np.ndarray:
        out = (np.atleast_2d(vectors).astype(np.float32) - self.mean) @ self.components.T
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


@lru_cache(maxsize=4)
def shipped_basis(path: Path = BASIS_FILE) -> Basis | None:
    if not path.exists():
        return None
    data = np.load(path)
    return Basis(data["mean"].astype(np.float32), data["components"].astype(np.float32),
                 str(data["embedder"]))


def basis_for(embedder_name: str, path: Path = BASIS_FILE) -> Basis | None:
    """The basis for this embedder, or None (another embedder: no sentence vectors)."""
    basis = shipped_basis(path)
    return basis if basis is not None and basis.embedder == embedder_name else None


class RecentVectors:
    """The vectors of the last `size` distinct inputs one run embedded (the model's vector of a
    text is its own, whatever it is batched with, so an input met again is not embedded again).
    A law's amended versions repeat most of their sentences and sit side by side in a folder,
    often in the next batch. Sentences ("title：sentence", projected): over the scale corpus's
    188,573 inputs, embedding each distinct one once per batch leaves 181,820 to embed;
    remembering the last 20,000 across batches, 176,743 (all distinct: 176,487); 20,000 vectors
    of 128 floats hold 10 MB. Passages (a chunk with its title and headings): 71,387, of which
    1,938 repeat an earlier one, 1,782 of them within the 5,000 before."""

    def __init__(self, size: int = 20_000):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def known(self, inputs: list[str]) -> dict[str, np.ndarray]:
        found = {x: self._vectors[x] for x in inputs if x in self._vectors}
        for x in found:
            self._vectors.move_to_end(x)
        return found

    def keep(self, inputs: list[str], vectors: np.ndarray) -> None:
        self._vectors.update(zip(inputs, vectors))
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)


def embedded_once(inputs: list[str], embed, dim: int, recent: RecentVectors | None = None
                  ) -> dict[str, np.ndarray]:
    """Each distinct input's vector, from one call of `embed` (texts -> n × dim) for those
    `recent` (when given) does not already hold; `recent` keeps the new ones."""
    unique = list(dict.fromkeys(inputs))
    vectors = recent.known(unique) if recent is not None else {}
    new = [x for x in unique if x not in vectors]
    made = embed(new) if new else np.zeros((0, dim), dtype=np.float32)
    if recent is not None:
        recent.keep(new, made)
    vectors.update(zip(new, made))
    return vectors


def chunk_vectors(texts: list[str], titles: list[str], embed, basis: Basis,
                  recent: RecentVectors | None = None) -> list[str]:
    """Each chunk's packed sentence vectors, from one call of `embed` (texts -> vectors) for
    the distinct inputs that `recent` (when given) does not already hold."""
    inputs = [sentence_inputs(t, title) for t, title in zip(texts, titles)]
    vectors = embedded_once([x for xs in inputs for x in xs],
                            lambda new: basis.project(embed(new)), basis.dim, recent)
    return [pack(np.array([vectors[x] for x in xs]).reshape(len(xs), basis.dim))
            for xs in inputs]


def answer_spans(text: str) -> list[tuple[int, int]]:
    """The sentences of a chunk the answerer reads, in order."""
    return [(s, e) for s, e in sentence_spans(text) if e - s >= MIN_SENTENCE]


def sentence_inputs(text: str, title: str) -> list[str]:
    """What is embedded for each of the chunk's answer sentences: the sentence with its title."""
    return [f"{title}：{text[s:e]}" if title else text[s:e] for s, e in answer_spans(text)]


def pack(projected: np.ndarray) -> str:
    """Unit vectors (n × dim) as int8, base64: a few bytes per sentence, in chunk metadata."""
    if not len(projected):
        return ""
    q = np.clip(np.round(projected * 127), -127, 127).astype(np.int8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def unpack(packed: str, dim: int) -> np.ndarray:
    """The vectors `pack` wrote (n × dim, float32, about unit length)."""
    if not packed:
        return np.zeros((0, dim), dtype=np.float32)
    raw = np.frombuffer(base64.b64decode(packed), dtype=np.int8)
    return raw.reshape(-1, dim).astype(np.float32) / 127.0
