"""BM25 over jieba tokens: a derived cache of the chunks in Chroma, refreshed when stale.

The matrix of raw term counts is kept (not BM25 weights), so that adding or dropping a
document's rows only needs the idf and length norms recomputed, which numpy does in one pass.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

K1, B = 1.2, 0.75
_FORMAT = 2
INDEX_FILE = "keyword-index.npz"


@dataclass
class KeywordIndex:
    """Rows are chunks (`ids`, with their `doc_ids`); `versions` maps doc_id -> indexed version."""

    ids: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    vocab: dict[str, int] = field(default_factory=dict)
    counts: sparse.csr_matrix = field(default_factory=lambda: sparse.csr_matrix((0, 0)))
    versions: dict[str, str] = field(default_factory=dict)
    generation: int = -1
    _weights: sparse.csc_matrix | None = None
    _df: np.ndarray | None = None
    _rows: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    # ---- building ----------------------------------------------------------------------
    def replace_docs(self, removed: set[str], rows: list[tuple[str, str, list[str]]],
                     versions: dict[str, str]) -> "KeywordIndex":
        """A new index: every row of `removed` docs dropped, `rows` of (chunk_id, doc_id,
        tokens) appended. The old one is untouched, so a reader holding it mid-query never
        sees half an update."""
        new = KeywordIndex(list(self.ids), list(self.doc_ids), dict(self.vocab), self.counts,
                           dict(self.versions), self.generation)
        new._replace(removed, rows, versions)
        return new

    def _replace(self, removed: set[str], rows: list[tuple[str, str, list[str]]],
                 versions: dict[str, str]) -> None:
        if removed.isdisjoint(self.doc_ids):  # an ingest of new documents: nothing to drop
            counts, ids, doc_ids = self.counts, list(self.ids), list(self.doc_ids)
        else:
            keep = [i for i, d in enumerate(self.doc_ids) if d not in removed]
            counts = self.counts[keep] if self.counts.shape[0] else self.counts
            ids = [self.ids[i] for i in keep]
            doc_ids = [self.doc_ids[i] for i in keep]
        data, indices, indptr = [], [], [0]
        for cid, did, tokens in rows:
            for term, freq in sorted((self._term(t), n) for t, n in Counter(tokens).items()):
                indices.append(term)
                data.append(freq)
            indptr.append(len(indices))
            ids.append(cid)
            doc_ids.append(did)
        width = len(self.vocab)
        new = sparse.csr_matrix((np.array(data, np.float32), np.array(indices, np.int64),
                                 np.array(indptr, np.int64)), shape=(len(rows), width))
        old = counts.tocsr()
        old.resize((old.shape[0], width))
        self.counts = sparse.vstack([old, new], format="csr") if old.shape[0] else new
        self.ids, self.doc_ids = ids, doc_ids
        for d in removed:
            self.versions.pop(d, None)
        self.versions.update(versions)
        self._weights = None
        self._df = None
        self._rows = None

    def rows_of(self, doc_ids: set[str]) -> list[int]:
        """The rows of these documents (worked out once per index: an index is never edited
        after it is built, an update builds a new one)."""
        if self._rows is None:
            rows: dict[str, list[int]] = {}
            for i, d in enumerate(self.doc_ids):
                rows.setdefault(d, []).append(i)
            self._rows = rows
        return [i for d in doc_ids for i in self._rows.get(d, ())]

    def rows_with(self, token: str, within: list[int] | None = None) -> list[int]:
        """The rows that hold the token; `within`: only those of these rows (a word every law
        holds, 第二十六条, is in thousands of rows; one law's are a few)."""
        col = self.vocab.get(token)
        if col is None or not len(self.ids):
            return []
        weights = self._bm25_weights()
        if col >= weights.shape[1]:
            return []
        holding = weights.indices[weights.indptr[col]:weights.indptr[col + 1]]  # sorted
        if within is None:
            return holding.tolist()
        rows = np.asarray(within, dtype=holding.dtype)
        at = np.searchsorted(holding, rows)
        found = at < len(holding)
        found[found] = holding[at[found]] == rows[found]
        return rows[found].tolist()

    def _term(self, token: str) -> int:
        idx = self.vocab.get(token)
        if idx is None:
            idx = self.vocab[token] = len(self.vocab)
        return idx

    def document_frequency(self, token: str) -> int:
        """How many rows hold the token (0 when unknown)."""
        col = self.vocab.get(token)
        if col is None:
            return 0
        if self._df is None:
            self._df = np.bincount(self.counts.indices, minlength=self.counts.shape[1])
        return int(self._df[col]) if col < len(self._df) else 0

    # ---- scoring -------------------------------------------------------------------------
    def _bm25_weights(self) -> sparse.csc_matrix:
        if self._weights is None:
            tf = self.counts.tocsr().astype(np.float32)
            n = tf.shape[0]
            lengths = np.asarray(tf.sum(axis=1)).ravel()
            avg = lengths.mean() if n else 1.0
            df = np.bincount(tf.indices, minlength=tf.shape[1])
            idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
            norm = K1 * (1 - B + B * lengths / max(avg, 1e-9))
            rows = np.repeat(np.arange(n), np.diff(tf.indptr))
            tf.data = tf.data * (K1 + 1) / (tf.data + norm[rows]) * idf[tf.indices]
            self._weights = tf.tocsc()
        return self._weights

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every row for the query (repeated query terms count once)."""
        if not len(self.ids):
            return np.zeros(0, np.float32)
        cols = sorted({self.vocab[t] for t in query_tokens if t in self.vocab})
        if not cols:
            return np.zeros(len(self.ids), np.float32)
        return np.asarray(self._bm25_weights()[:, cols].sum(axis=1)).ravel()

    def top(self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None
            ) -> list[tuple[int, float]]:
        """(row, score) of the k best rows with a positive score, optionally within a mask."""
        s = self.scores(query_tokens)
        if allowed is not None and len(s):
            s = np.where(allowed, s, 0.0)
        if not len(s):
            return []
        k = min(k, len(s))
        best = np.argpartition(-s, k - 1)[:k]
        best = best[np.argsort(-s[best])]
        return [(int(i), float(s[i])) for i in best if s[i] > 0]

    # ---- persistence ---------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """One file, replaced atomically: a reader sees the old index or the new one."""
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"format": _FORMAT, "ids": self.ids, "doc_ids": self.doc_ids, "vocab": self.vocab,
                "versions": self.versions, "generation": self.generation}
        counts = self.counts.tocsr()
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8),
                     data=counts.data, indices=counts.indices, indptr=counts.indptr,
                     shape=np.array(counts.shape, np.int64))
        os.replace(tmp, folder / INDEX_FILE)

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        try:
            with np.load(folder / INDEX_FILE) as npz:
                meta = json.loads(npz["meta"].tobytes().decode())
                counts = sparse.csr_matrix((npz["data"], npz["indices"], npz["indptr"]),
                                           shape=tuple(npz["shape"]))
        except (OSError, ValueError, KeyError):
            return cls()  # missing or unreadable cache: rebuilt from Chroma
        if meta.get("format") != _FORMAT or counts.shape[0] != len(meta["ids"]):
            return cls()
        return cls(ids=meta["ids"], doc_ids=meta["doc_ids"], vocab=meta["vocab"], counts=counts,
                   versions=meta["versions"], generation=meta["generation"])
