"""Ingest benchmark: the project's pipeline beside the plain LangChain baseline, per corpus.

Per corpus, three fresh processes (bench/rss.py), one after the other:
  1. ours      — `ingest.pipeline.ingest_paths` into DATA (several corpora share one DATA),
  2. reingest  — the same call again, nothing changed (ours only: the baseline has no
                 incremental mode and would embed everything again),
  3. baseline  — `RecursiveCharacterTextSplitter(500, 50)` + `Chroma.from_documents` with the
                 same embedder, into DATA-langchain.
The model is loaded before the clock starts (its load time is printed on its own line), so
"wall" is the ingest itself. Our "embed" is `IngestSummary.embed_seconds` (the model calls
only); the baseline's is measured inside its `Embeddings` adapter.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.rss import CodeSnapshot, JobFailed, load_1min, run_job

LANGCHAIN_SUFFIX = "-langchain"


def baseline_dir(data: Path) -> Path:
    return data.with_name(data.name + LANGCHAIN_SUFFIX)


def select_files(corpus: Path, limit: int | None) -> list[Path]:
    """The files the project's ingest would take from `corpus` (folder notes skipped), in its
    order; the first `limit` of them."""
    from ingest.pipeline import collect_files

    files, _ = collect_files([corpus])
    paths = [p for p, _ in files]
    return paths[:limit] if limit else paths


def _settings(params: dict):
    from cppcc_kb.settings import Settings

    extra = {k: params[k] for k in ("embedder", "model_cache", "embed_batch_size") if params.get(k)}
    return Settings(data=Path(params["data"]), chroma_url=None, **extra)


def _load_model(settings, torch_threads: int | None = None) -> tuple[object, float]:
    from ingest.embedder import load_embedder

    t0 = time.perf_counter()
    embedder = load_embedder(settings)
    set_threads(torch_threads)
    embedder.embed_passages(["预热"], 1)  # first call allocates; not part of any ingest
    return embedder, time.perf_counter() - t0


def set_threads(n: int | None) -> None:
    """Benchmark-only knob: override the torch thread count the embedder set at load."""
    if n:
        import torch

        torch.set_num_threads(n)


def runtime_info() -> dict:
    import os

    import torch

    return {"torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "")}


# ---- stage timers for our pipeline (wrappers installed in the measured process only) ---------
_STAGES = {
    "prepare (read+parse+split)": ("ingest.pipeline", None, "_prepare"),
    "tokenize (jieba, for BM25)": ("ingest.pipeline", None, "tokenize"),
    "store.begin": ("ingest.store", "Store", "begin"),
    "store.add_chunks": ("ingest.store", "Store", "add_chunks"),
    "store.commit": ("ingest.store", "Store", "commit"),
    "store.recover": ("ingest.store", "Store", "recover"),
    "keyword index update": ("ingest.kb", "KnowledgeBase", "note_committed"),
    "kb.fresh": ("ingest.kb", "KnowledgeBase", "fresh"),
    "kb.save (keyword index)": ("ingest.kb", "KnowledgeBase", "save"),
}


def _install_timers() -> dict[str, float]:
    import functools
    import importlib

    totals = {}
    for name, (module, cls, attr) in _STAGES.items():
        owner = importlib.import_module(module)
        if cls:
            owner = getattr(owner, cls)
        original = getattr(owner, attr, None)
        if original is None:  # older code (`--versus`) without this stage
            continue
        totals[name] = 0.0

        def timed(*args, __f=original, __n=name, **kwargs):
            t0 = time.perf_counter()
            try:
                return __f(*args, **kwargs)
            finally:
                totals[__n] += time.perf_counter() - t0

        setattr(owner, attr, functools.wraps(original)(timed))
    return totals


def run_ours(params: dict) -> dict:
    """Measured process: one `ingest_paths` run over the given files/folder."""
    from ingest.kb import KnowledgeBase
    from ingest.pipeline import ingest_paths

    settings = _settings(params)
    load_start = load_1min()
    embedder, model_s = _load_model(settings, params.get("torch_threads"))
    stages = _install_timers()
    label = params["label"]
    last = [time.monotonic()]

    def progress(done: int, total: int, summary) -> None:
        if time.monotonic() - last[0] > 30 or done == total:
            last[0] = time.monotonic()
            rate = summary.chunks / summary.embed_seconds if summary.embed_seconds else 0.0
            print(f"[{label}] {done}/{total} files, {summary.chunks} chunks "
                  f"({rate:.1f}/s in the model)", file=sys.stderr, flush=True)

    paths = [Path(p) for p in params["paths"]]
    summary = ingest_paths(paths, settings, kb=KnowledgeBase(settings, embedder),
                           progress=progress)
    statuses = {s: summary.count(s) for s in ("added", "updated", "unchanged", "failed",
                                                "skipped")}
    return {
        "pipeline": params["pipeline"], "corpus": params["corpus"],
        "documents": statuses["added"] + statuses["updated"] + statuses["unchanged"],
        "statuses": statuses, "chunks": summary.chunks, "chars": summary.chars,
        "wall_s": round(summary.seconds, 3), "embed_s": round(summary.embed_seconds, 3),
        # older code (`--versus`) may have no sentence vectors and one passage precision
        "sentence_s": round(getattr(summary, "sentence_seconds", 0.0), 3),
        "passage_precision": getattr(KnowledgeBase(settings, embedder), "passage_precision",
                                     lambda: "")(),
        "model_load_s": round(model_s, 2), "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "failures": [f"{o.path}: {o.reason}" for o in summary.failed][:10],
        "load_start": load_start, "load_end": load_1min(), **runtime_info(),
    }


def run_baseline(params: dict) -> dict:
    """Measured process: the plain LangChain pipeline over the same files."""
    from bench.baseline import E5Embeddings, build

    settings = _settings(params)
    load_start = load_1min()
    embedder, model_s = _load_model(settings, params.get("torch_threads"))
    embeddings = E5Embeddings(embedder, settings.embed_batch_size, label=params["label"])
    stats = build([Path(p) for p in params["paths"]], Path(params["persist_dir"]), embeddings)
    return {"pipeline": "baseline", "corpus": params["corpus"], **stats,
            "model_load_s": round(model_s, 2), "load_start": load_start, "load_end": load_1min(),
            **runtime_info()}


# ---- orchestration ---------------------------------------------------------------------------
def bench_ingest(corpora: list[Path], data: Path, settings, limit: int | None = None,
                 skip_baseline: bool = False, skip_ours: bool = False,
                 json_out: Path | None = None, torch_threads: int | None = None,
                 versus: str | None = None, echo=print) -> list[dict]:
    """Run the measured processes one after the other; a row per (corpus, pipeline). With
    `versus` (a git commit), that commit's ingest runs too, after ours, into a folder of its
    own (deleted afterwards)."""
    import tempfile

    common = {"embedder": settings.embedder, "model_cache": str(settings.model_cache),
              "embed_batch_size": settings.embed_batch_size, "data": str(data),
              "torch_threads": torch_threads}
    rows: list[dict] = []
    old = CodeSnapshot(versus) if versus else None  # first: an unknown commit leaves nothing
    code = CodeSnapshot()
    elsewhere = tempfile.TemporaryDirectory(prefix="cppcc-bench-versus-") if old else None
    echo(f"# measured code: {code.id} (a snapshot of the project taken now)"
         + (f"; versus {old.id}" if old else ""))

    def record(row: dict) -> None:
        row.setdefault("code", code.id)
        rows.append(row)
        echo(f"# done: {row['corpus']} / {row['pipeline']}: {row.get('chunks', 0)} chunks, "
             f"wall {row.get('wall_s', 0):.1f}s, peak RSS {row.get('peak_rss_mb', 0):.0f} MB, "
             f"load {row.get('load_start')}→{row.get('load_end')}")
        if json_out:
            with json_out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    try:
        _run_all(corpora, data, limit, skip_baseline, skip_ours, common, record, code,
                 (versus, old, Path(elsewhere.name) / "kb") if old else None)
    finally:
        for snapshot in (code, old, elsewhere):
            if snapshot is not None:
                snapshot.cleanup()
    return rows


def _run_all(corpora, data, limit, skip_baseline, skip_ours, common, record, code,
             versus=None) -> None:
    for corpus in corpora:
        name = corpus.name
        files = select_files(corpus, limit)
        if not files:
            raise JobFailed(f"{corpus}: no files to ingest")
        # Without --limit the folder itself is ingested, exactly as `cppcc-kb ingest DIR` does.
        paths = [str(p) for p in files] if limit else [str(corpus)]
        if not skip_ours:
            params = {**common, "paths": paths, "corpus": name}
            record(run_job("bench.ingest_bench:run_ours",
                           {**params, "pipeline": "ours", "label": f"ours {name}"},
                           f"ours {name}", code))
        if versus:
            ref, old, folder = versus
            record({**run_job("bench.ingest_bench:run_ours",
                              {**common, "paths": paths, "corpus": name, "data": str(folder),
                               "pipeline": ref, "label": f"{ref} {name}"}, f"{ref} {name}", old),
                    "code": old.id})
        if not skip_ours:
            record(run_job("bench.ingest_bench:run_ours",
                           {**params, "pipeline": "reingest", "label": f"reingest {name}"},
                           f"reingest {name}", code))
        if not skip_baseline:
            record(run_job("bench.ingest_bench:run_baseline",
                           {**common, "paths": [str(p) for p in files], "corpus": name,
                            "persist_dir": str(baseline_dir(data)),
                            "label": f"baseline {name}"}, f"baseline {name}", code))


def _fmt(value, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict]) -> str:
    """Figures down, one column per corpus × pipeline (the re-ingest folds into `ours`)."""
    columns: list[tuple[str, dict]] = []
    reingest = {r["corpus"]: r for r in rows if r["pipeline"] == "reingest"}
    for r in rows:
        if r["pipeline"] != "reingest":  # ours, another commit's (--versus), the baseline
            columns.append((f"{r['corpus']} · {r['pipeline']}", r))
    lines_spec = [
        ("documents", lambda r, _: r["documents"]),
        ("chunks", lambda r, _: r["chunks"]),
        ("characters", lambda r, _: r["chars"]),
        ("chars per chunk", lambda r, _: r["chars"] / r["chunks"] if r["chunks"] else 0.0),
        ("wall s", lambda r, _: r["wall_s"]),
        ("chunks/s", lambda r, _: r["chunks"] / r["wall_s"] if r["wall_s"] else 0.0),
        ("chars/s", lambda r, _: r["chars"] / r["wall_s"] if r["wall_s"] else 0.0),
        ("embedder s", lambda r, _: r["embed_s"]),
        ("  of which sentence vectors s", lambda r, _: r["sentence_s"]),
        ("passages embedded in", lambda r, _: r["passage_precision"]),
        ("embedder share of wall %",
         lambda r, _: 100 * r["embed_s"] / r["wall_s"] if r["wall_s"] else 0.0),
        ("embedder chars/s", lambda r, _: r["chars"] / r["embed_s"] if r["embed_s"] else 0.0),
        ("overhead vs embedder %",
         lambda r, _: 100 * (r["wall_s"] - r["embed_s"]) / r["embed_s"] if r["embed_s"] else 0.0),
        ("model load s (not in wall)", lambda r, _: r["model_load_s"]),
        ("peak RSS MB", lambda r, _: r["peak_rss_mb"]),
        ("unchanged re-ingest s", lambda r, ri: ri["wall_s"] if ri else
         "n/a (no incremental)" if r["pipeline"] == "baseline" else "n/a"),
        ("  same, whole process s", lambda r, ri: ri["process_s"] if ri else "n/a"),
        ("  its peak RSS MB", lambda r, ri: ri["peak_rss_mb"] if ri else "n/a"),
        ("  its docs unchanged", lambda r, ri: ri["statuses"]["unchanged"] if ri else "n/a"),
        ("torch threads", lambda r, _: r.get("torch_threads")),
        ("load avg (1 min) start→end",
         lambda r, _: f"{r['load_start']}→{r['load_end']}"),
    ]
    header = ["figure"] + [c for c, _ in columns]
    body = []
    for label, fn in lines_spec:
        line = [label]
        for _, r in columns:
            ri = reingest.get(r["corpus"]) if r["pipeline"] == "ours" else None
            try:
                line.append(_fmt(fn(r, ri)))
            except (KeyError, TypeError, ZeroDivisionError):
                line.append("—")
        body.append(line)
    out = [_render([header] + body)]
    for _, r in columns:
        stages = r.get("stages_s") or {}
        if stages:
            rest = r["wall_s"] - r["embed_s"] - sum(stages.values())
            parts = ", ".join(f"{k} {v:.1f}s" for k, v in {**stages, "other": rest}.items()
                              if abs(v) >= 0.05)
            out.append(f"{r['corpus']} · {r['pipeline']} — time outside the model: {parts}")
        for f in r.get("failures") or []:
            out.append(f"{r['corpus']} · {r['pipeline']} — FAILED {f}")
    ours = {r["corpus"]: r for r in rows if r["pipeline"] == "ours"}
    for r in rows:
        mine = ours.get(r["corpus"])
        if r["pipeline"] not in ("ours", "reingest", "baseline") and mine and r.get("wall_s"):
            out.append(f"{r['corpus']}: wall, this code ÷ {r['pipeline']}: "
                       f"{mine['wall_s'] / r['wall_s']:.2f}× ({mine['wall_s']:.1f} s against "
                       f"{r['wall_s']:.1f} s)")
    codes = sorted({r.get("code", "?") for r in rows})
    out.append(f"measured code: {', '.join(codes)}")
    out.append("Chunk counts differ (our structure-aware splitter cuts at ≤300 characters, the "
               "baseline at ≤500 with 50 overlap): compare chars/s, not chunks/s.")
    return "\n".join(out)


def _render(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0] + " " * (widths[0] - _width(r[0]))]
        cells += [" " * (widths[i] - _width(c)) + c for i, c in enumerate(r[1:], 1)]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
