"""Fit the 128-dimensional basis sentence vectors are stored in (ingest/sentence_vectors.py).

    python -m evals.fit_sentence_basis FOLDER... [--per-file 4] [--dim 128] [--out PATH]

The basis is the principal components of e5 vectors of "title：sentence" for a sample of the
sentences of the documents in FOLDER... (the project uses ../shared/qa/cmrc2018/docs and
../shared/scale/laws: Wikipedia articles and laws, no question of any set). Unsupervised: no
answer or question is read. Deterministic: files in sorted order, a seeded sample of each one's
sentences, the same embedding path ingest uses (Embedder.embed_sentences).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

SEED = 7


def sample_inputs(folders: list[Path], per_file: int) -> list[str]:
    from ingest.metadata import describe
    from ingest.readers import SUPPORTED, parse_bytes
    from ingest.sentence_vectors import sentence_inputs
    from ingest.splitter import split_document

    rng = random.Random(SEED)
    files = sorted(p for folder in folders for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in SUPPORTED)
    out = []
    for path in files:
        parsed = parse_bytes(path, path.read_bytes())
        title = describe(parsed.text, path.name, parsed.title).title
        inputs = [x for c in split_document(parsed.text) for x in sentence_inputs(c.text, title)]
        out += rng.sample(inputs, min(per_file, len(inputs)))
    return out


def fit(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    mean = vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(vectors - mean, full_matrices=False)
    return mean.astype(np.float32), vt[:dim].astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    from cppcc_kb.settings import Settings
    from ingest.embedder import load_embedder
    from ingest.sentence_vectors import BASIS_FILE

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--per-file", type=int, default=4)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--out", type=Path, default=BASIS_FILE)
    args = parser.parse_args(argv)
    inputs = sample_inputs(args.folders, args.per_file)
    embedder = load_embedder(Settings())
    vectors = embedder.embed_sentences(inputs)
    mean, components = fit(vectors, args.dim)
    kept = float(np.square((vectors - mean) @ components.T).sum()
                 / np.square(vectors - mean).sum())
    np.savez(args.out, mean=mean, components=components, embedder=embedder.name,
             sentences=len(inputs))
    print(f"{len(inputs)} sentences, {args.dim} dimensions keep {kept:.1%} of the variance; "
          f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
