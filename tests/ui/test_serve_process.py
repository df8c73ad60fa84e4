"""`cppcc-kb serve` as a real process: what its banner says, and that it holds its folder — a
second `serve` and the CLI's writing commands are refused with who holds it, until it dies."""

from __future__ import annotations

import time

import httpx

from tests.support.docs import write_topic
from tests.support.llm_server import free_port
from tests.support.warm_cli import warm_cli


def test_serve_holds_its_folder_until_it_dies(tmp_path):
    warm, data, port = warm_cli(), tmp_path / "kb", free_port()
    corpus = tmp_path / "corpus"
    write_topic(corpus, "cherries.txt", "樱桃种植")
    new = write_topic(tmp_path / "more", "hydrogen.txt", "氢能汽车")
    leftover = data / "uploads" / "api-killed"  # what a killed server's upload left behind
    leftover.mkdir(parents=True)
    (leftover / "half.txt").write_text("半途", encoding="utf-8")
    server = warm.spawn(["--data", data, "serve", "--host", "0.0.0.0", "--port", port],
                        env={"CPPCC_KB_CORPUS_DIR": str(corpus), "CPPCC_KB_STAFF_TOKEN": None})
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stderr[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, server.stderr[-3000:]
            time.sleep(0.3)
        banner = server.stderr
        assert not leftover.exists()  # swept when serve started, holding the folder
        assert "Warning: listening on 0.0.0.0, reachable from other machines" in banner
        assert f"http://127.0.0.1:{port}/" in banner and "http://0.0.0.0" not in banner

        for argv in (["ingest", new], ["remove", "cherries.txt"], ["reset", "--yes"],
                     ["serve", "--port", free_port()]):
            refused = warm.run(["--data", data, *argv])
            assert refused.code == 1, (argv, refused.stderr)
            assert "is being served by `cppcc-kb serve` (pid" in refused.stderr, refused.stderr
            assert f"http://127.0.0.1:{port}/" in refused.stderr
            assert "Traceback" not in refused.stderr
        listed = warm.run(["--data", data, "list"])  # reading is not refused
        assert listed.code == 0 and "樱桃种植" in listed.stdout
    finally:
        server.kill()
    done = warm.run(["--data", data, "ingest", new])  # the kernel dropped the lease
    assert done.code == 0, done.stderr


def _start(warm, data, port, env) -> object:
    server = warm.spawn(["--data", data, "serve", "--port", port], env=env)
    deadline = time.monotonic() + 240
    while True:
        assert server.poll() is None, server.stderr[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, server.stderr[-3000:]
        time.sleep(0.3)


def test_a_server_killed_mid_upload_leaves_nothing_after_it_restarts(tmp_path):
    from tests.conftest import shared_path

    law = shared_path("scale", "laws", "司法解释", "人民检察院刑事诉讼规则(2019-12-02).md")  # 310 KB
    warm, data, port = warm_cli(), tmp_path / "kb", free_port()
    corpus = tmp_path / "corpus"
    write_topic(corpus, "cherries.txt", "樱桃种植")
    token = "serve-kill-test-token-5d1e9a"
    env = {"CPPCC_KB_CORPUS_DIR": str(corpus), "CPPCC_KB_STAFF_TOKEN": token}
    server = _start(warm, data, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        job = httpx.post(f"{base}/api/documents", headers={"Authorization": f"Bearer {token}"},
                         files={"files": (law.name, law.read_bytes())}, timeout=60).json()
        deadline = time.monotonic() + 120
        while httpx.get(f"{base}/api/jobs/{job['job_id']}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(3)  # reading, splitting, embedding: well before the commit
    finally:
        server.kill()  # SIGKILL, mid-job
    found = warm.run(["--data", data, "check"])
    assert found.code == 1 and "leftover upload folder" in found.stdout, found.stdout

    server = _start(warm, data, port, env)  # the restart sweeps what the kill left
    try:
        listed = httpx.get(f"{base}/api/documents", timeout=30).json()
        staff = {"Authorization": f"Bearer {token}"}
        after = httpx.get(f"{base}/api/jobs/{job['job_id']}", headers=staff, timeout=10)
        recent = httpx.get(f"{base}/api/jobs", headers=staff, timeout=10).json()
    finally:
        server.kill()
    assert [d["source"] for d in listed] == ["cherries.txt"]  # the law is wholly absent
    # the job is still known after the restart, and says what became of it
    assert after.status_code == 200 and after.json()["status"] == "failed", after.text
    assert "server stopped before this upload ended" in after.json()["note"]
    assert [j["job_id"] for j in recent] == [job["job_id"]]
    clean = warm.run(["--data", data, "check"])
    assert clean.code == 0 and "OK:" in clean.stdout, clean.stdout


def test_two_serve_of_one_chroma_run_see_each_others_writes_within_a_second(tmp_path):
    """Staff write through one server; members asking the other see it within one second of
    the write returning, with no error in between (issue 15: several serve, one chroma run)."""
    from tests.support.chroma import ChromaServer

    warm = warm_cli()
    chroma = ChromaServer(tmp_path / "chroma").start()
    token = "two-serve-test-token-8c41e7b2"
    env = {"CPPCC_KB_CHROMA_URL": chroma.url, "CPPCC_KB_STAFF_TOKEN": token}
    seeded = warm.run(["--data", tmp_path / "seed", "ingest",
                       write_topic(tmp_path / "corpus", "cherries.txt", "樱桃种植")], env=env)
    assert seeded.code == 0, seeded.stderr
    ports = free_port(), free_port()
    servers = [_start(warm, tmp_path / f"serve-{i}", port, env) for i, port in enumerate(ports)]
    writer, reader = (f"http://127.0.0.1:{p}" for p in ports)
    staff = {"Authorization": f"Bearer {token}"}
    question = {"question": "市政协围绕氢能汽车开展专题调研走访了多少个单位？", "mode": "extractive"}
    try:
        def cites_new(answer) -> bool:
            return "hydrogen.txt" in {c["source"] for c in answer.json()["citations"]}

        before = httpx.post(f"{reader}/api/ask", json=question, timeout=60)
        assert before.status_code == 200 and not cites_new(before)
        new = write_topic(tmp_path / "more", "hydrogen.txt", "氢能汽车", seed=3)
        added = httpx.post(f"{writer}/api/documents?wait=true", headers=staff, timeout=120,
                           files={"files": (new.name, new.read_bytes())})
        assert added.status_code == 200, added.text
        returned = time.monotonic()
        while True:  # the other server, asked until it sees the new document
            listed = httpx.get(f"{reader}/api/documents", timeout=30)
            answer = httpx.post(f"{reader}/api/ask", json=question, timeout=60)
            assert listed.status_code == 200 and answer.status_code == 200, answer.text
            seen = time.monotonic() - returned
            if any(d["source"] == "hydrogen.txt" for d in listed.json()) and cites_new(answer):
                break
            assert seen < 1.0, "the other server still answers from the old state"
        assert seen < 1.0
        assert "15个单位" in answer.json()["answer"]

        doc = next(d["doc_id"] for d in listed.json() if d["source"] == "hydrogen.txt")
        gone = httpx.delete(f"{reader}/api/documents/{doc}", headers=staff, timeout=60)
        assert gone.status_code == 200, gone.text
        returned = time.monotonic()
        while True:  # and back: a delete through the reader, seen by the writer
            listed = httpx.get(f"{writer}/api/documents", timeout=30)
            answer = httpx.post(f"{writer}/api/ask", json=question, timeout=60)
            assert listed.status_code == 200 and answer.status_code == 200, answer.text
            if all(d["source"] != "hydrogen.txt" for d in listed.json()) and \
                    not cites_new(answer):
                break
            assert time.monotonic() - returned < 1.0, "the deleted document is still answered"
    finally:
        for server in servers:
            server.kill()
        chroma.stop()


def test_an_llm_answer_stops_when_its_asker_goes_away(tmp_path):
    """Issue 15: a client that gives up on /api/ask (and on /v1/chat/completions) must not
    leave the server writing an LLM answer for nobody until the LLM's timeout: the LLM's
    stream is closed within a second or two of the client leaving."""
    import threading

    from tests.bot.test_llm import http_endpoint, send, send_chunk, sse_event, start_stream

    closed: list[float] = []

    def endless(handler):  # a slow LLM: a delta every 0.2 s for a minute
        if handler.command == "GET":  # /v1/models, for the server's health check
            send(handler, 200, "application/json", b'{"object": "list", "data": []}')
            return
        start_stream(handler)
        try:
            for _ in range(300):
                send_chunk(handler, sse_event("淄博政协"))
                time.sleep(0.2)
        except OSError:  # the server closed the stream: record when
            closed.append(time.monotonic())

    warm, data, port = warm_cli(), tmp_path / "kb", free_port()
    corpus = tmp_path / "corpus"
    write_topic(corpus, "cherries.txt", "樱桃种植")
    with http_endpoint(endless) as (llm_url, requests):
        server = _start(warm, data, port, {"CPPCC_KB_CORPUS_DIR": str(corpus),
                                           "CPPCC_KB_STAFF_TOKEN": None,
                                           "CPPCC_KB_LLM_BASE_URL": llm_url,
                                           "CPPCC_KB_LLM_TIMEOUT_S": "120"})
        base = f"http://127.0.0.1:{port}"
        try:
            for path, body in (("/api/ask", {"question": "樱桃种植调研走访了多少个单位？",
                                             "mode": "llm"}),
                               ("/v1/chat/completions", {"model": "cppcc-kb", "mode": "llm",
                                                         "messages": [{"role": "user",
                                                                       "content": "樱桃种植调研走访了多少个单位？"}]})):
                asked = len(requests)
                with_client_gone = threading.Event()

                def impatient():
                    try:
                        httpx.post(base + path, json=body, timeout=2.0)
                    except httpx.TimeoutException:
                        pass
                    finally:
                        with_client_gone.set()

                threading.Thread(target=impatient, daemon=True).start()
                assert with_client_gone.wait(30)
                left = time.monotonic()
                while not closed and time.monotonic() < left + 10:
                    time.sleep(0.1)
                assert len(requests) > asked, "the LLM was asked"
                assert closed and closed[-1] - left < 3, (path, closed, left)
                # the server still answers the next asker at once
                fine = httpx.post(base + "/api/ask", json={"question": "樱桃种植调研走访了多少个单位？",
                                                            "mode": "extractive"}, timeout=30)
                assert fine.status_code == 200
                closed.clear()
        finally:
            server.kill()
