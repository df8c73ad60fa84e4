"""Splitter benchmark: retrieval quality of our splitter at several sizes vs LangChain's.

For each splitter a knowledge base of the corpus is built with the SAME embedder, then every
answerable question of the sets is retrieved twice — dense only (the question's e5 vector
against Chroma) and with the project's hybrid retrieval (`Bot._prepare` + `Bot._retrieve`: BM25 +
dense, fused, title/year boosts, follow-up blending: exactly what the bot reads) — and scored on
the top 8 passages (what the bot reads):

  strict  — the first passage whose text contains a gold answer string (NFKC, spaces and
            thousands separators ignored: `evals.metrics.norm`);
  lenient — `evals.metrics.first_hit`: also counts a passage from a gold source document.
  MRR@8, hit@1, hit@5 over answerable questions.

Splitters:
  ours-N           `ingest.splitter.split_document(text, max_chars=N)` (N=300 is what ships)
  ours-merge-500   experiment: ours-300, then neighbouring chunks under the same headings merged
                   up to 500 characters (short articles no longer stand alone)
  lc-S-O           `RecursiveCharacterTextSplitter(S, O)` inside our pipeline (same title prefix,
                   metadata, BM25 and hybrid retrieval; only the cut points differ)
  plain-lc-500-50  the plain LangChain baseline (bench/baseline.py: no title prefix, plain
                   `Chroma.from_documents`, `similarity_search`): dense only

To plug a splitter into our pipeline without touching shipped code, the benchmark process
monkeypatches `ingest.pipeline.split_document` for the duration of one build (and restores it).
Query vectors are memoised in this process (the same text always embeds the same), so the
seven knowledge bases do not re-embed the same questions. Built knowledge bases are cached
under --cache, keyed by the splitter, the corpus files and the source of the splitter/indexing/
pipeline modules, so a rerun only scores.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
from pathlib import Path

from bench.rss import load_1min

TOP = 8
SPLITTERS: dict[str, tuple] = {
    "ours-200": ("ours", 200),
    "ours-300": ("ours", 300),
    "ours-400": ("ours", 400),
    "ours-500": ("ours", 500),
    "ours-merge-500": ("merge", 300, 500),
    "lc-500-50": ("lc", 500, 50),
    "lc-300-30": ("lc", 300, 30),
    "plain-lc-500-50": ("plain", 500, 50),
}


def lc_split(chunk_size: int, chunk_overlap: int):
    """A `split_document` stand-in: LangChain's cuts as exact spans of the text."""
    from bench.baseline import splitter
    from ingest.splitter import Chunk

    lc = splitter(chunk_size, chunk_overlap, add_start_index=True)

    def split(text: str, max_chars: int = 0, min_chars: int = 0) -> list[Chunk]:
        chunks, cursor = [], 0
        for doc in lc.create_documents([text]):
            piece = doc.page_content
            start = doc.metadata.get("start_index", -1)
            if start < 0 or text[start:start + len(piece)] != piece:
                start = text.find(piece, max(0, cursor - chunk_overlap - len(piece)))
            if start < 0:
                continue
            cursor = start + len(piece)
            chunks.append(Chunk(piece, start, cursor, len(chunks)))
        return chunks

    return split


def _split_fn(spec: tuple):
    from ingest.splitter import split_document

    if spec[0] == "ours":
        return functools.partial(split_document, max_chars=spec[1])
    if spec[0] == "merge":
        return merged_split(spec[1], spec[2])
    return lc_split(spec[1], spec[2])


def merged_split(max_chars: int, merge_to: int):
    """An experiment, not shipped: our chunks, then neighbours under the same headings merged
    while the merged span stays within `merge_to` characters (short law articles share a chunk
    instead of standing alone). Spans stay exact: a merged chunk is text[first.start:last.end]."""
    from ingest.splitter import Chunk, split_document

    def split(text: str, max_chars_: int = 0, min_chars: int = 0) -> list[Chunk]:
        out: list[Chunk] = []
        for c in split_document(text, max_chars=max_chars):
            last = out[-1] if out else None
            if (last is not None and last.kind == c.kind != "header"
                    and last.headings == c.headings and c.end - last.start <= merge_to):
                out[-1] = Chunk(text[last.start:c.end], last.start, c.end, last.position,
                                list(last.headings), last.kind, last.article)
            else:
                out.append(c)
        for i, c in enumerate(out):
            c.position = i
        return out

    return split


_CODE_DIGEST: list[str] = []  # of the modules as imported by this process (set at start)


def _load_code() -> str:
    """Import everything the benchmark will run now, and digest those sources: files edited by
    others later can neither mix into this run nor mislabel its cache."""
    import inspect

    import bench.baseline
    import bot.chain  # noqa: F401 (imported to be digested)
    import evals.metrics
    import evals.runner  # noqa: F401
    import ingest.indexing
    import ingest.kb
    import ingest.normalize
    import ingest.pipeline
    import ingest.splitter

    h = hashlib.sha1()
    for module in (ingest.splitter, ingest.indexing, ingest.pipeline, ingest.normalize,
                   bench.baseline):
        h.update(inspect.getsource(module).encode())
    _CODE_DIGEST[:] = [h.hexdigest()]
    return h.hexdigest()[:10]


def _fingerprint(name: str, files: list[Path], identity: str) -> str:
    h = hashlib.sha1(f"{name}|{SPLITTERS[name]}|{identity}|{_CODE_DIGEST}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def _kb_settings(data: Path, settings):
    from cppcc_kb.settings import Settings

    return Settings(data=data, chroma_url=None, embedder=settings.embedder,
                    model_cache=settings.model_cache, answer_mode="extractive")


def build(name: str, files: list[Path], cache: Path, settings, embedder, echo=print) -> dict:
    """Build (or reuse) the knowledge base of one splitter; its folder and build figures."""
    from ingest.embedder import embedder_identity

    spec = SPLITTERS[name]
    folder = cache / f"{name}-{_fingerprint(name, files, embedder_identity(settings))}"
    done = folder / "built.json"
    if done.exists():
        info = json.loads(done.read_text("utf-8"))
        echo(f"[{name}] cached: {folder}")
        return info
    if folder.exists():
        shutil.rmtree(folder)  # a build that did not finish
    folder.mkdir(parents=True)
    echo(f"[{name}] building {folder} …")
    if spec[0] == "plain":
        from bench.baseline import E5Embeddings, build as build_plain

        stats = build_plain(files, folder / "chroma", E5Embeddings(embedder, label=name),
                            spec[1], spec[2])
        info = {"chunks": stats["chunks"], "chunk_chars": stats["chunk_chars"],
                "build_s": stats["wall_s"], "embed_s": stats["embed_s"]}
    else:
        import ingest.pipeline as pipeline
        from ingest.kb import KnowledgeBase

        kb_settings = _kb_settings(folder / "kb", settings)
        original = pipeline.split_document
        pipeline.split_document = _split_fn(spec)  # benchmark-only; restored below
        try:
            summary = pipeline.ingest_paths(files, kb_settings,
                                            kb=KnowledgeBase(kb_settings, embedder))
        finally:
            pipeline.split_document = original
        if summary.failed:
            raise RuntimeError(f"{name}: {len(summary.failed)} files failed: "
                               f"{summary.failed[0].path}: {summary.failed[0].reason}")
        kb = KnowledgeBase(kb_settings, embedder)
        texts = kb.store.chunks.get(include=["documents"])["documents"]
        info = {"chunks": summary.chunks, "chunk_chars": sum(len(t) for t in texts),
                "build_s": round(summary.seconds, 1), "embed_s": round(summary.embed_seconds, 1)}
    info.update({"name": name, "folder": str(folder)})
    done.write_text(json.dumps(info), "utf-8")
    return info


# ---- scoring ------------------------------------------------------------------------------------
def strict_rank(q, rows: list[dict]) -> int:
    from evals.metrics import norm

    answers = [norm(a) for a in q.answers]
    for rank, row in enumerate(rows, 1):
        text = norm(row.get("text", ""))
        if any(a and a in text for a in answers):
            return rank
    return 0


def scores(ranks: list[int]) -> dict:
    n = len(ranks)
    if not n:
        return {"n": 0, "mrr": 0.0, "hit1": 0.0, "hit5": 0.0}
    return {"n": n, "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
            "hit1": round(sum(r == 1 for r in ranks) / n, 4),
            "hit5": round(sum(1 <= r <= 5 for r in ranks) / n, 4)}


def _dense_query(q) -> str:
    return " ".join(q.history[-1:] + [q.question])


def _rows_from_store(got: dict) -> list[dict]:
    return [{"text": t, "doc_id": m.get("doc_id", ""), "title": m.get("title", ""),
             "source": m.get("source", "")}
            for t, m in zip(got["documents"][0], got["metadatas"][0])]


def evaluate(name: str, info: dict, questions: list, settings, embedder,
             answers: bool = False) -> list[dict]:
    """Rows of scores for one built knowledge base (dense, and hybrid where it applies)."""
    from evals.metrics import first_hit

    out = []
    folder = Path(info["folder"])
    if SPLITTERS[name][0] == "plain":
        from bench.baseline import E5Embeddings, open_store

        store = open_store(folder / "chroma", E5Embeddings(embedder))
        modes = {"dense": lambda q: [{"text": d.page_content, "source": d.metadata.get("source")}
                                     for d in store.similarity_search(_dense_query(q), k=TOP)]}
        bot = None
    else:
        from bot.chain import Bot
        from ingest.kb import KnowledgeBase

        kb_settings = _kb_settings(folder / "kb", settings)
        kb = KnowledgeBase(kb_settings, embedder)
        bot = Bot(kb_settings, kb)

        def dense(q):
            return _rows_from_store(kb.store.query(embedder.embed_query(_dense_query(q)), TOP))

        def hybrid(q):
            # The bot's own retrieval steps (private, but exactly what `Bot.ask` reads).
            turn = bot._prepare(bot._turn(q.question, q.history, None, None, "extractive"))
            return [{"text": p.text, "doc_id": p.doc_id, "title": p.title,
                     "source": p.meta.get("source", "")} for p in bot._retrieve(turn).passages]

        modes = {"dense": dense, "hybrid": hybrid}
    answerable = [q for q in questions if q.answerable]
    for mode, retrieve in modes.items():
        t0 = time.perf_counter()
        strict, lenient = [], []
        for q in answerable:
            rows = retrieve(q)[:TOP]
            strict.append(strict_rank(q, rows))
            lenient.append(first_hit(q, rows))
        row = {"splitter": name, "retrieval": mode, "chunks": info["chunks"],
               "chars_per_chunk": round(info["chunk_chars"] / info["chunks"], 1)
               if info["chunks"] else 0.0, "build_s": info["build_s"],
               "strict": scores(strict), "lenient": scores(lenient),
               "query_ms": round((time.perf_counter() - t0) * 1000 / max(1, len(answerable)), 1)}
        if answers and mode == "hybrid" and bot is not None:
            from evals.runner import run_set

            metrics = run_set(bot, questions, mode="extractive")["metrics"]
            row["answer_accuracy"] = metrics["answer_accuracy"]
            row["abstain_recall"] = metrics["abstain_recall"]
        out.append(row)
    return out


def bench_splitters(corpus: Path, sets: list[Path], settings, names: list[str] | None = None,
                    limit: int | None = None, cache: Path | None = None, answers: bool = False,
                    echo=print) -> list[dict]:
    from bench.ingest_bench import select_files
    from evals.sets import load_set
    from ingest.embedder import load_embedder

    cache = cache or Path("/tmp/cppcc-bench-cache/splitter")
    cache.mkdir(parents=True, exist_ok=True)
    digest = _load_code()
    echo(f"# indexing code digest {digest}")
    files = select_files(corpus, limit)
    questions = [q for path in sets for q in load_set(path)[0]]
    embedder = load_embedder(settings)
    _memoise_queries(embedder)
    rows = []
    for name in names or list(SPLITTERS):
        load_start = load_1min()
        info = build(name, files, cache, settings, embedder, echo)
        for row in evaluate(name, info, questions, settings, embedder, answers):
            row["load"] = f"{load_start}→{load_1min()}"
            row["code"] = digest
            rows.append(row)
            echo(f"[{name}] {row['retrieval']}: strict MRR {row['strict']['mrr']:.3f}, "
                 f"lenient MRR {row['lenient']['mrr']:.3f}")
    return rows


def _memoise_queries(embedder) -> None:
    original = embedder.embed_query
    memo: dict[str, object] = {}

    def embed_query(text: str):
        if text not in memo:
            memo[text] = original(text)
        return memo[text]

    embedder.embed_query = embed_query  # this process's instance only


def table(rows: list[dict]) -> str:
    with_answers = any("answer_accuracy" in r for r in rows)
    header = (f"{'splitter':<16} {'retrieval':<9} {'chunks':>6} {'chars/ch':>8} | "
              f"{'strict MRR':>10} {'hit@1':>6} {'hit@5':>6} | {'lenient MRR':>11} {'hit@1':>6} "
              f"{'hit@5':>6} | {'build s':>7}" + (f" {'ans acc':>7}" if with_answers else ""))
    lines = [header, "-" * len(header)]
    for r in rows:
        s, l = r["strict"], r["lenient"]
        line = (f"{r['splitter']:<16} {r['retrieval']:<9} {r['chunks']:>6} "
                f"{r['chars_per_chunk']:>8.0f} | {s['mrr']:>10.3f} {s['hit1']:>6.3f} "
                f"{s['hit5']:>6.3f} | {l['mrr']:>11.3f} {l['hit1']:>6.3f} {l['hit5']:>6.3f} | "
                f"{r['build_s']:>7.0f}")
        if with_answers:
            acc = r.get("answer_accuracy")
            line += f" {acc:>7.3f}" if acc is not None else f" {'—':>7}"
        lines.append(line)
    n = rows[0]["strict"]["n"] if rows else 0
    lines.append(f"{n} answerable questions; top {TOP} passages scored; strict = a passage holds a "
                 "gold answer string, lenient = that or a passage of a gold source document "
                 "(evals.metrics.first_hit); ans acc = the whole extractive bot "
                 "(evals.runner.run_set). ours-300 is what ships. Indexing code digest: "
                 + ", ".join(sorted({r.get("code", "?") for r in rows})))
    return "\n".join(lines)
