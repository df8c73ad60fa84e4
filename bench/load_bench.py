"""`cppcc-kb bench load`: N askers for T seconds against a real server on 127.0.0.1, while a
staff client uploads and deletes a probe document; for each N: requests, errors, stale or
missing answers, p50/p95/p99 and the server's peak RSS.

The server runs in its own measured process (`bench.rss.Job`) over a copy of the knowledge
base, so the user's folder is never written. Askers ask the questions of the sets in turn;
the staff client, after each upload returns, asks the probe's question from a fresh connection
and checks the list ("missing" when either lacks the new document), and after each delete
checks that neither shows it ("stale").
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.query_bench import percentile
from bench.rss import Job, load_1min

PROBE_NAME = "负载测试探针.txt"
PROBE_QUESTION = "负载测试市政协2031年共收到多少件提案？"


def probe_text(n: int) -> str:
    return f"负载测试市政协2031年共收到提案{7000 + n}件。\n其中经审查立案{6000 + n}件。\n"


def serve_api(params: dict) -> dict:
    """Measured server process: the project's whole app (API + chat) under uvicorn."""
    import uvicorn
    from pydantic import SecretStr

    from cppcc_kb.settings import Settings
    from ui.server import create_app

    settings = Settings(data=Path(params["data"]), chroma_url=None, answer_mode="extractive",
                        staff_token=SecretStr(params["token"]))
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=params["port"],
                            log_level="warning", access_log=False)
    uvicorn.Server(config).run()
    return {"mode": "server"}


def run_level(data: Path, questions: list[str], askers: int, seconds: float,
              echo=print) -> dict:
    import httpx

    from bench.query_bench import _free_port

    port, token = _free_port(), secrets.token_urlsafe(24)
    base = f"http://127.0.0.1:{port}"
    server = Job("bench.load_bench:serve_api", {"data": str(data), "port": port,
                                                 "token": token}, "load server").start()
    try:
        _wait_until_up(base, server)
        stop = threading.Event()
        lock = threading.Lock()
        latencies: list[float] = []
        errors: list[str] = []

        def asker(offset: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                i = offset
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        resp = client.post("/api/ask", json={
                            "question": questions[i % len(questions)], "mode": "extractive"})
                        ok = resp.status_code == 200
                        why = f"HTTP {resp.status_code}"
                    except httpx.HTTPError as exc:
                        ok, why = False, type(exc).__name__
                    ms = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies.append(ms) if ok else errors.append(why)
                    i += 1

        writes = {"cycles": 0, "stale": 0, "missing": 0, "write_errors": 0}

        def staff() -> None:
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, timeout=300, headers=auth) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    up = client.post("/api/documents", params={"wait": "true"}, files={
                        "files": (PROBE_NAME, probe_text(n).encode("utf-8"))})
                    if up.status_code != 200:
                        writes["write_errors"] += 1
                        continue
                    doc = up.json()["files"][0]["doc_id"]
                    if not _sees(base, doc, str(7000 + n)):
                        writes["missing"] += 1
                    if client.delete(f"/api/documents/{doc}").status_code != 200:
                        writes["write_errors"] += 1
                        continue
                    if _sees(base, doc, str(7000 + n), either=True):
                        writes["stale"] += 1
                    writes["cycles"] += 1

        threads = [threading.Thread(target=asker, args=(k,), daemon=True) for k in range(askers)]
        threads.append(threading.Thread(target=staff, daemon=True))
        load_start = load_1min()
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join(300)
        wall = time.perf_counter() - started
    finally:
        served = server.stop()
    return {"askers": askers, "seconds": round(wall, 1), "requests": len(latencies) + len(errors),
            "per_s": round((len(latencies) + len(errors)) / wall, 1), "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5], **writes,
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "peak_rss_mb": served["peak_rss_mb"], "load_start": load_start,
            "load_end": load_1min()}


def _sees(base: str, doc: str, figure: str, either: bool = False) -> bool:
    """From a fresh connection: does the list hold `doc` and the probe's answer `figure`?
    (`either`: does either still show it.)"""
    import httpx

    with httpx.Client(base_url=base, timeout=120) as other:
        listed = doc in {d["doc_id"] for d in other.get("/api/documents").json()}
        answer = other.post("/api/ask", json={"question": PROBE_QUESTION,
                                              "mode": "extractive"}).json().get("answer", "")
    shown = figure in answer
    return (listed or shown) if either else (listed and shown)


def _wait_until_up(base: str, server: Job, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if not server.running():
            raise RuntimeError("the server exited before answering (see its output above)")
        try:
            if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer within {timeout:.0f} s")
        time.sleep(0.5)


def bench_load(data: Path, questions: list[str], levels: list[int], seconds: float,
               echo=print) -> list[dict]:
    """One fresh server per level over its own copy of `data`."""
    rows = []
    for askers in levels:
        with tempfile.TemporaryDirectory(prefix="cppcc-bench-load-") as tmp:
            copy = Path(tmp) / "kb"
            shutil.copytree(data, copy, ignore=shutil.ignore_patterns("*.lock"))
            echo(f"# {askers} askers × {seconds:g} s, a staff client writing")
            rows.append(run_level(copy, questions, askers, seconds, echo))
    return rows


def table(rows: list[dict]) -> str:
    head = ("| askers | requests | req/s | errors | write cycles | stale | missing | p50 ms | "
            "p95 ms | p99 ms | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['askers']} | {r['requests']} | {r['per_s']} | {r['errors']} | "
             f"{r['cycles']} | {r['stale']} | {r['missing']} | {r['p50_ms']} | {r['p95_ms']} | "
             f"{r['p99_ms']} | {r['peak_rss_mb']} |" for r in rows]
    return "\n".join([head, *lines])
