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
    finally:
        server.kill()
    assert [d["source"] for d in listed] == ["cherries.txt"]  # the law is wholly absent
    clean = warm.run(["--data", data, "check"])
    assert clean.code == 0 and "OK:" in clean.stdout, clean.stdout
