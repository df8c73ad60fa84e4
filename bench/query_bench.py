"""Query benchmark: latency of `Bot.ask` (extractive), over HTTP, and of the LangChain baseline.

Each measurement runs in its own fresh process (bench/rss.py), so its peak RSS is its own:
  * in-process — `Bot(settings).ask(q, history=...)`, mode extractive, every question of the
    sets, repeated until there are ≥ 200 samples; per-stage figures from `answer.timings_ms`
    (prepare, retrieve, answer, verify); the slowest question is then profiled with cProfile;
  * http       — the FastAPI app (`bot.app.create_api(settings)`) under uvicorn in one process,
    POST /api/ask from this process with httpx (one connection, sequential requests) — two such
    servers, the question log on and off (CPPCC_KB_LOG_QUESTIONS), asked in turn question by
    question, so the log's cost is measured on one machine state;
  * baseline   — `Chroma(...).as_retriever(search_kwargs={"k": 5}).invoke(q)` over the plain
    LangChain store (DATA-langchain), same embedder: retrieval only, no answer is composed.
The first question of every process is timed apart ("cold": model and index loading).
"""

from __future__ import annotations

import importlib.util
import math
import socket
import sys
import time
from pathlib import Path

from bench.ingest_bench import runtime_info, set_threads
from bench.rss import CodeSnapshot, Job, load_1min, run_job

MIN_SAMPLES = 200
STAGES = ("prepare", "retrieve", "answer", "verify", "total")


def load_questions(sets: list[Path], limit: int | None = None) -> list[dict]:
    from evals.sets import load_set

    out = []
    for path in sets:
        questions, _ = load_set(path)
        out += [{"id": f"{path.stem}:{q.id}", "question": q.question, "history": q.history}
                for q in questions]
    return out[:limit] if limit else out


def percentile(values: list[float], pct: float) -> float:
    from evals.metrics import percentile as pct_of

    return pct_of(values, pct)


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    return {"n": len(values), "p50": round(percentile(values, 50), 2),
            "p95": round(percentile(values, 95), 2),
            "mean": round(sum(values) / len(values), 2), "max": round(max(values), 2)}


def _settings(params: dict):
    from cppcc_kb.settings import Settings

    extra = {k: params[k] for k in ("embedder", "model_cache") if params.get(k)}
    if "log_questions" in Settings.model_fields:  # a commit measured by --versus may predate it
        extra["log_questions"] = params.get("log_questions", True)
    return Settings(data=Path(params["data"]), chroma_url=params.get("chroma_url"),
                    answer_mode="extractive", **extra)


def _slowest(per_question: dict[str, list[float]], n: int = 5) -> list[tuple[str, float]]:
    medians = {q: percentile(v, 50) for q, v in per_question.items()}
    return sorted(medians.items(), key=lambda kv: -kv[1])[:n]


# ---- measured processes ------------------------------------------------------------------------
def run_inprocess(params: dict) -> dict:
    from bot.chain import ANSWER_PASSAGES, Bot
    from bot.retrieval import _CANDIDATES

    load_start = load_1min()
    settings = _settings(params)
    questions = params["questions"]
    t0 = time.perf_counter()
    bot = Bot(settings)
    cold_q = questions[0]
    bot.ask(cold_q["question"], history=cold_q["history"], mode="extractive")
    cold_ms = (time.perf_counter() - t0) * 1000
    set_threads(params.get("torch_threads"))
    for q in questions[:3]:  # warm: jieba, numpy paths, Chroma's caches
        bot.ask(q["question"], history=q["history"], mode="extractive")
    samples = {s: [] for s in STAGES}
    wall: list[float] = []
    per_question: dict[str, list[float]] = {}
    errors = 0
    last_log = time.monotonic()
    for run in range(params["runs"]):
        for q in questions:
            started = time.perf_counter()
            try:
                answer = bot.ask(q["question"], history=q["history"], mode="extractive")
            except Exception as exc:  # a question the bot refuses to take is still a sample
                errors += 1
                print(f"[in-process] {q['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            ms = (time.perf_counter() - started) * 1000
            wall.append(ms)
            per_question.setdefault(q["id"], []).append(ms)
            for stage in STAGES:
                if stage in answer.timings_ms:
                    samples[stage].append(answer.timings_ms[stage])
            if time.monotonic() - last_log > 30:
                last_log = time.monotonic()
                print(f"[in-process] run {run + 1}/{params['runs']}: {len(wall)} samples, "
                      f"p50 so far {percentile(wall, 50):.0f} ms", file=sys.stderr, flush=True)
    slowest = _slowest(per_question)
    # The floor: the question's embedding alone, same texts, same process, same model; and
    # what any ask pays the store after it: one nearest-neighbour search as the bot makes it,
    # and one read of the passages kept. Their sum is the stack's own floor; the rest of an
    # ask is the answer path's work.
    alone, search, read = [], [], []
    for _ in range(params["runs"]):
        for q in questions:
            started = time.perf_counter()
            vector = bot.kb.embedder.embed_query(q["question"])
            alone.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            got = bot.kb.store.query(vector, _CANDIDATES + 10, None, content=False)
            search.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            bot.kb.store.get_chunks(got["ids"][0][:ANSWER_PASSAGES])
            read.append((time.perf_counter() - started) * 1000)
    result = {"mode": "in-process", "cold_first_ms": round(cold_ms, 1), "errors": errors,
              "wall": stats(wall), "stages": {s: stats(v) for s, v in samples.items()},
              "embed_query_alone": stats(alone), "store_search_alone": stats(search),
              "store_read_alone": stats(read),
              "slowest": [(q, round(ms, 1)) for q, ms in slowest],
              "chunks": bot.kb.store.chunks.count(), "documents": len(bot.kb.records()),
              "load_start": load_start, "load_end": load_1min(), **runtime_info()}
    if params.get("profile") and slowest:
        by_id = {q["id"]: q for q in questions}
        result["profile"] = _profile(bot, by_id[slowest[0][0]])
    return result


def _profile(bot, q: dict, top: int = 30) -> dict:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    answer = bot.ask(q["question"], history=q["history"], mode="extractive")
    profiler.disable()
    ms = (time.perf_counter() - started) * 1000
    out = {"question": q["id"], "text": q["question"], "ms": round(ms, 1),
           "timings_ms": answer.timings_ms}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(key).print_stats(top)
        out[key] = buf.getvalue()
    return out


def run_baseline(params: dict) -> dict:
    from bench.baseline import E5Embeddings, open_store, retriever
    from ingest.embedder import load_embedder

    load_start = load_1min()
    settings = _settings(params)
    t0 = time.perf_counter()
    embeddings = E5Embeddings(load_embedder(settings))
    set_threads(params.get("torch_threads"))
    store = open_store(Path(params["persist_dir"]), embeddings)
    chain = retriever(store, k=5)
    questions = params["questions"]
    chain.invoke(questions[0]["question"])
    cold_ms = (time.perf_counter() - t0) * 1000
    for q in questions[:3]:
        chain.invoke(q["question"])
    wall, embed = [], []
    for _ in range(params["runs"]):
        for q in questions:
            # A plain retriever has no conversation: it gets the question as typed.
            before = embeddings.query_seconds
            started = time.perf_counter()
            chain.invoke(q["question"])
            wall.append((time.perf_counter() - started) * 1000)
            embed.append((embeddings.query_seconds - before) * 1000)
    search = [w - e for w, e in zip(wall, embed)]
    return {"mode": "baseline", "cold_first_ms": round(cold_ms, 1), "errors": 0,
            "wall": stats(wall), "stages": {"embed_query": stats(embed),
                                            "chroma search + docs": stats(search)},
            "chunks": store._collection.count(), "load_start": load_start,
            "load_end": load_1min(), **runtime_info()}


def serve_api(params: dict) -> dict:
    """Measured server process: the project's FastAPI app under uvicorn until SIGTERM."""
    import uvicorn

    from bot.app import create_api

    settings = _settings(params)
    app = create_api(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=params["port"], log_level="warning",
                            access_log=False)
    uvicorn.Server(config).run()  # returns after SIGTERM (graceful shutdown)
    return {"mode": "server"}


def http_available() -> str | None:
    """None when `bot.app.create_api` exists, else why HTTP cannot be measured yet."""
    spec = importlib.util.find_spec("bot.app")
    if spec is None or not spec.origin:
        return "bot/app.py is not there yet"
    if "def create_api" not in Path(spec.origin).read_text("utf-8"):
        return "bot/app.py has no create_api(settings) yet"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_http_pair(params: dict, echo=print, code: CodeSnapshot | None = None,
                  versus: tuple[str, dict, CodeSnapshot] | None = None) -> tuple[dict, dict]:
    """Two API servers at once, asked in alternation (which one goes first alternates too), on
    one machine state: the question log on and off; or, with `chroma_url`, two servers of one
    Chroma server (each with its own data folder, so its own keyword index, derived from
    Chroma at start, as on two machines); or, with `versus` (a commit, its params and its
    code), this code's server and that commit's."""
    import httpx

    if versus:
        variants = (("this code", params, code), versus)
    elif params.get("chroma_url"):
        variants = tuple((name, {**params, "data": str(Path(params["data"]) / f"serve-{name}")},
                          code) for name in ("A", "B"))
    else:
        variants = (("on", {**params}, code), ("off", {**params, "log_questions": False}, code))
    load_start = load_1min()
    servers, clients = {}, {}
    try:
        for name, p, snapshot in variants:
            port = _free_port()
            servers[name] = Job("bench.query_bench:serve_api", {**p, "port": port},
                                f"http server ({name})", snapshot).start()
            clients[name] = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        cold = {}
        for name, client in clients.items():
            t0 = time.perf_counter()
            deadline = time.monotonic() + 600
            while True:
                if not servers[name].running():
                    raise RuntimeError("the API server exited before answering")
                try:
                    client.get("/", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the API server did not start within 600 s")
                    time.sleep(0.5)
            _post(client, params["questions"][0])
            cold[name] = (time.perf_counter() - t0) * 1000
            for q in params["questions"][:3]:
                _post(client, q)
        wall = {n: [] for n in clients}
        server_total = {n: [] for n in clients}
        errors = {n: 0 for n in clients}
        turn = 0
        for _ in range(params["runs"]):
            for q in params["questions"]:
                order = list(clients) if turn % 2 == 0 else list(reversed(list(clients)))
                turn += 1
                for name in order:
                    started = time.perf_counter()
                    resp = _post(clients[name], q)
                    ms = (time.perf_counter() - started) * 1000
                    if resp.status_code != 200:
                        errors[name] += 1
                        continue
                    wall[name].append(ms)
                    total = (resp.json().get("timings_ms") or {}).get("total")
                    if total is not None:
                        server_total[name].append(total)
    finally:
        for c in clients.values():
            c.close()
        served = {name: s.stop() for name, s in servers.items()}
    load_end = load_1min()
    label = ("http ({})" if versus else "serve {} of one chroma run" if params.get("chroma_url")
             else "http (log {})")
    out = tuple({"mode": label.format(name), "cold_first_ms": round(cold.get(name, 0), 1),
                 "errors": errors[name], "wall": stats(wall[name]),
                 "stages": {"server total (timings_ms)": stats(server_total[name])},
                 "peak_rss_mb": served[name]["peak_rss_mb"], "load_start": load_start,
                 "load_end": load_end} for name, _, _ in variants)
    return out[0], out[1]


def _post(client, q: dict):
    body = {"question": q["question"], "mode": "extractive"}
    if q["history"]:
        body["history"] = q["history"]
    return client.post("/api/ask", json=body)


# ---- orchestration ---------------------------------------------------------------------------
def bench_query(data: Path, sets: list[Path], settings, runs: int | None = None,
                limit: int | None = None, http: bool = False, baseline: Path | None = None,
                profile: bool = True, torch_threads: int | None = None,
                chroma_url: str | None = None, versus: str | None = None, echo=print) -> dict:
    """With `chroma_url`, every measured process reads the store from that Chroma server
    (`data` then only holds their keyword indexes and logs) and the two HTTP servers are two
    `serve` of it. With `versus` (a git commit), that commit's answering code is measured too,
    in the same run, over a copy of the knowledge base (it may rewrite what it derives, such
    as the keyword index): in-process after this code, and over HTTP asked in turn with it."""
    import shutil
    import tempfile

    questions = load_questions(sets, limit)
    runs = runs or max(1, math.ceil(MIN_SAMPLES / len(questions)))
    params = {"data": str(data), "embedder": settings.embedder,
              "model_cache": str(settings.model_cache), "questions": questions, "runs": runs,
              "profile": profile, "torch_threads": torch_threads, "chroma_url": chroma_url}
    old = CodeSnapshot(versus) if versus else None  # first: an unknown commit leaves nothing
    code = CodeSnapshot()
    copy = tempfile.TemporaryDirectory(prefix="cppcc-bench-versus-") if versus else None
    results: dict = {"questions": len(questions), "runs": runs, "data": str(data),
                     "code": code.id, "versus": old.id if old else None}
    echo(f"# measured code: {code.id}; in-process: {len(questions)} questions × {runs} runs")
    try:
        results["in-process"] = run_job("bench.query_bench:run_inprocess", params,
                                        "in-process", code)
        if old:
            echo(f"# versus {old.id}: its answering code over a copy of {data}")
            shutil.copytree(data, Path(copy.name) / "kb")
            old_params = {**params, "data": str(Path(copy.name) / "kb"), "profile": False}
            results["in-process-versus"] = run_job("bench.query_bench:run_inprocess",
                                                   old_params, f"in-process ({versus})", old)
        if http:
            why = http_available()
            if why:
                echo(f"# http: skipped — {why}")
                results["http"] = {"skipped": why}
            elif old:
                echo(f"# http: this code's API server and {versus}'s, asked in turn question by "
                     "question, so their difference is not a difference of runs")
                results["http"], results["http-versus"] = run_http_pair(
                    params, echo, code, versus=(versus, old_params, old))
            else:
                echo(f"# http: two API servers of the Chroma server {chroma_url}, asked in turn"
                     if chroma_url else
                     "# http: two API servers, question log on (as served) and off, asked in "
                     "turn question by question, so the log's cost is not a difference of runs")
                results["http"], results["http-nolog"] = run_http_pair(params, echo, code)
        if baseline is not None:
            echo("# baseline: LangChain retriever over " + str(baseline))
            results["baseline"] = run_job("bench.query_bench:run_baseline",
                                          {**params, "persist_dir": str(baseline)}, "baseline",
                                          code)
    finally:
        for snapshot in (code, old, copy):
            if snapshot is not None:
                snapshot.cleanup()
    return results


def report(results: dict) -> str:
    lines = [f"{results['questions']} questions × {results['runs']} runs "
             f"(extractive mode; latencies in ms; measured code {results.get('code', '?')})"]
    header = f"{'measurement':<34}{'n':>6}{'p50':>10}{'p95':>10}{'mean':>10}{'max':>10}"
    lines += [header, "-" * len(header)]

    def row(label: str, s: dict) -> None:
        lines.append(f"{label:<34}{s['n']:>6}{s['p50']:>10.1f}{s['p95']:>10.1f}"
                     f"{s['mean']:>10.1f}{s['max']:>10.1f}")

    notes = []
    two = "serve" in ((results.get("http") or {}).get("mode") or "")
    ref = (results.get("versus") or "").split("+")[0]
    for key, title in (("in-process", "Bot.ask (in-process)"),
                       ("in-process-versus", f"Bot.ask at {ref}"),
                       ("http", "POST /api/ask, serve A" if two else "POST /api/ask (HTTP)"),
                       ("http-nolog", "POST /api/ask, serve B" if two
                        else "POST /api/ask, question log off"),
                       ("http-versus", f"POST /api/ask at {ref}"),
                       ("baseline", "LangChain retriever k=5")):
        r = results.get(key)
        if not r:
            continue
        if r.get("skipped"):
            notes.append(f"{title}: skipped — {r['skipped']}")
            continue
        row(title + " wall", r["wall"])
        for stage, s in r["stages"].items():
            row(f"  {stage}", s)
        notes.append(f"{title}: cold first question {r['cold_first_ms']:.0f} ms, peak RSS "
                     f"{r.get('peak_rss_mb', 0):.0f} MB, errors {r['errors']}, load avg "
                     f"{r['load_start']}→{r['load_end']}"
                     + (f", torch threads {r['torch_threads']}" if r.get("torch_threads") else "")
                     + (f", {r['chunks']:,} chunks" if r.get("chunks") else ""))
    lines += [""] + notes
    logged, unlogged = results.get("http") or {}, results.get("http-nolog") or {}
    if logged.get("wall") and unlogged.get("wall") and not two:
        lines.append(f"question log cost over HTTP: p50 {logged['wall']['p50'] - unlogged['wall']['p50']:+.2f} ms, "
                     f"p95 {logged['wall']['p95'] - unlogged['wall']['p95']:+.2f} ms")
    for now, then, title in (("in-process", "in-process-versus", "Bot.ask"),
                             ("http", "http-versus", "POST /api/ask")):
        a, b = ((results.get(k) or {}).get("wall") or {} for k in (now, then))
        if a.get("p50") and b.get("p50"):
            lines.append(f"{title}, this code − {ref}: p50 {a['p50'] - b['p50']:+.1f} ms, "
                         f"p95 {a['p95'] - b['p95']:+.1f} ms")
    ours = results.get("in-process") or {}
    floor = (ours.get("embed_query_alone") or {})
    if floor.get("p50"):
        row("query embedding alone", floor)
        for key, title in (("in-process", "Bot.ask"), ("http", "POST /api/ask")):
            wall_ = (results.get(key) or {}).get("wall") or {}
            if wall_.get("p50"):
                lines.append(f"{title} ÷ query embedding alone: p50 "
                             f"{wall_['p50'] / floor['p50']:.2f}×, p95 "
                             f"{wall_['p95'] / floor['p95']:.2f}×")
    search, read = ours.get("store_search_alone") or {}, ours.get("store_read_alone") or {}
    if floor.get("p50") and search.get("p50") and read.get("p50"):
        row("store search alone", search)
        row("store read alone", read)
        stack = floor["p50"] + search["p50"] + read["p50"]
        lines.append("stack floor (embedding + one dense search + one read of the passages "
                     f"kept), p50 {stack:.1f} ms = {stack / floor['p50']:.2f}× "
                     "the embedding; the rest of Bot.ask is the answer path's own work")
    if ours.get("slowest"):
        lines.append("slowest questions (median ms): "
                     + "; ".join(f"{q} {ms:.0f}" for q, ms in ours["slowest"]))
    prof = ours.get("profile")
    if prof:
        lines += ["", f"cProfile of the slowest question {prof['question']} ({prof['text']}): "
                  f"{prof['ms']:.0f} ms under the profiler, timings_ms {prof['timings_ms']}",
                  _trim_profile(prof["cumulative"], 30)]
    return "\n".join(lines)


def _trim_profile(text: str, rows: int) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start:start + rows + 1])
