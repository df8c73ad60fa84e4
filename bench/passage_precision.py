"""Do bf16 (or int8) passage vectors retrieve as well as the exact fp32 ones?
(CPPCC_KB_PASSAGE_PRECISION)

Run: .venv/bin/python -m bench.passage_precision [--articles N] [--sets SET ...]

Every document of each pool — the CMRC 2018 articles (`../shared/qa/cmrc2018`, the first N)
and `../shared/corpus` with the shared question sets and evals/sets — is read and split as the
pipeline does, its chunks embedded once per precision. Each question (its own words, no dev set
tuned on here) is embedded once, on the production query graph, and every chunk of its pool is
ranked by exact cosine (no approximate index, so the only difference is the passages'
precision). Gold: a chunk of the question's source document holding one of its answers.
Printed per pool and precision: MRR@30, hit@1, hit@5, how many questions ranked their gold
higher and lower than with fp32, passages/s, and the lowest and mean cosine to fp32.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cppcc_kb.settings import Settings
from ingest.embedder import load_embedder
from ingest.indexing import index_text
from ingest.metadata import describe
from ingest.readers import read_file
from ingest.splitter import split_document

SHARED = Path(__file__).resolve().parents[2] / "shared"
REPO = Path(__file__).resolve().parents[1]
PRECISIONS = ("fp32", "int8", "bf16")


def pool(folder: Path, names: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(chunk texts as the indexes see them, their document's file name) for a folder."""
    texts, owners = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if names is not None and path.name not in names:
            continue
        try:
            parsed = read_file(path, 50 * 2**20)
        except Exception:  # a pool file the pipeline would refuse is no passage
            continue
        title = describe(parsed.text, path.name, parsed.title).title
        for chunk in split_document(parsed.text):
            texts.append(index_text(chunk, title))
            owners.append(path.name)
    return texts, owners


def questions(sets: list[Path], names: set[str] | None = None) -> list[dict]:
    out = []
    for path in sets:
        for line in path.read_text("utf-8").splitlines():
            q = json.loads(line) if line.strip() else None
            if q and q.get("answers") and q.get("sources") and not q.get("history") and (
                    names is None or set(q["sources"]) & names):
                out.append(q)
    return out


def golds(q: dict, texts: list[str], owners: list[str]) -> set[int]:
    return {i for i, (t, o) in enumerate(zip(texts, owners))
            if o in q["sources"] and any(a in t for a in q["answers"])}


def ranks(vectors: np.ndarray, queries: np.ndarray, gold: list[set[int]], depth: int = 30
          ) -> list[int]:
    """The rank (1-based; 0 past depth) of each query's best gold chunk by exact cosine."""
    out = []
    for qv, g in zip(queries, gold):
        order = np.argsort(-(vectors @ qv), kind="stable")[:depth]
        out.append(next((r for r, i in enumerate(order, 1) if int(i) in g), 0))
    return out


def measure(name: str, texts: list[str], owners: list[str], qs: list[dict], embedder) -> list[str]:
    gold = [golds(q, texts, owners) for q in qs]
    keep = [i for i, g in enumerate(gold) if g]
    qs, gold = [qs[i] for i in keep], [gold[i] for i in keep]
    queries = np.stack([embedder.embed_query(q["question"]) for q in qs])
    lines, base, exact = [], None, None
    for precision in PRECISIONS:
        started = time.perf_counter()
        vectors = embedder.embed_passages(texts, 16, precision)
        rate = len(texts) / (time.perf_counter() - started)
        got = ranks(vectors, queries, gold)
        rr = [1 / r if r else 0.0 for r in got]
        if base is None:
            base, exact = got, vectors
        cos = np.sum(vectors * exact, axis=1)
        better = sum((r and (not b or r < b)) for r, b in zip(got, base))
        worse = sum((b and (not r or r > b)) for r, b in zip(got, base))
        lines.append(f"{name:<10}{precision:<6}{len(qs):>6}{len(texts):>8}{np.mean(rr):>9.4f}"
                     f"{np.mean([r == 1 for r in got]):>8.3f}{np.mean([0 < r <= 5 for r in got]):>8.3f}"
                     f"{better:>8}{worse:>7}{rate:>10.1f}{cos.min():>10.5f}{cos.mean():>10.6f}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200,
                        help="the first N CMRC articles (by file name)")
    parser.add_argument("--sets", nargs="*", type=Path,
                        default=sorted((SHARED / "evals").glob("*_dev.jsonl"))
                        + sorted((REPO / "evals" / "sets").glob("*.jsonl")))
    args = parser.parse_args(argv)
    embedder = load_embedder(Settings())
    header = (f"{'pool':<10}{'prec':<6}{'qs':>6}{'chunks':>8}{'MRR@30':>9}{'hit@1':>8}{'hit@5':>8}"
              f"{'better':>8}{'worse':>7}{'pass/s':>10}{'cos min':>10}{'cos mean':>10}")
    print(header)
    print("-" * len(header))
    cmrc = SHARED / "qa" / "cmrc2018"
    names = {p.name for p in sorted((cmrc / "docs").iterdir())[:args.articles]}
    texts, owners = pool(cmrc / "docs", names)
    for line in measure("cmrc", texts, owners, questions([cmrc / "questions.jsonl"], names),
                        embedder):
        print(line, flush=True)
    texts, owners = pool(SHARED / "corpus")
    for line in measure("corpus", texts, owners, questions(args.sets), embedder):
        print(line, flush=True)


if __name__ == "__main__":
    main()
