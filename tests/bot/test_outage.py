"""A Chroma server outage as members and staff see it: the API over a real `chroma run`,
killed with SIGKILL under requests, then started again on the same folder and port."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from bot.app import create_api
from bot.chain import Bot
from cppcc_kb.settings import Settings
from ingest.kb import KnowledgeBase
from ingest.pipeline import ingest_paths
from tests.support.chroma import CHROMA, ChromaServer
from tests.support.docs import write_topic
from tests.support.serving import serving

QUESTION = "市政协围绕氢能汽车开展专题调研，走访了多少个单位？"


@pytest.fixture
def chroma(tmp_path):
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is absent (it comes with the chromadb package)")
    server = ChromaServer(tmp_path / "chroma").start()
    yield server
    server.stop()


def test_an_outage_is_a_503_in_chinese_health_says_degraded_and_it_logs_once(
        chroma, tmp_path, embedder, caplog):
    settings = Settings(data=tmp_path / "kb", chroma_url=chroma.url)
    kb = KnowledgeBase(settings, embedder)
    doc = write_topic(tmp_path / "docs", "hydrogen.txt", "氢能汽车")
    assert not ingest_paths([doc], settings, kb=kb).failed
    bot = Bot(settings, kb)
    with serving(create_api(settings, bot)) as base, httpx.Client(base_url=base,
                                                                   timeout=60) as client:
        assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200

        chroma.kill()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="cppcc_kb.api"):
            down = [client.post("/api/ask", json={"question": QUESTION}) for _ in range(10)]
            health = client.get("/api/health")
            listed = client.get("/api/documents")
            assert {r.status_code for r in down} == {503}, [r.text for r in down]
            assert all("知识库暂时无法访问，请稍后再试" in r.json()["detail"] for r in down)
            assert down[0].headers["Retry-After"] == "5"
            # The list may come from the records read within the last half second, or not at all.
            assert (listed.status_code == 200 and len(listed.json()) == 1) or (
                listed.status_code == 503 and "知识库暂时无法访问" in listed.json()["detail"])
            assert health.status_code == 200 and health.json()["status"] == "degraded"
            assert "知识库暂时无法访问" in health.json()["problems"][0]
            during = [r for r in caplog.records if r.name == "cppcc_kb.api"]
            assert len(during) == 1 and "unreachable" in during[0].getMessage()
            assert not any(r.exc_info for r in caplog.records)  # no traceback per request

            chroma.start()
            deadline = time.monotonic() + 20
            while (again := client.post("/api/ask", json={"question": QUESTION})).status_code \
                    != 200:
                assert again.status_code == 503 and time.monotonic() < deadline, again.text
                time.sleep(0.2)
        assert "12" in again.json()["answer"]  # 走访12个单位, from the stored document
        recovered = [r for r in caplog.records if "reachable again" in r.getMessage()]
        assert len(recovered) == 1
        assert client.get("/api/health").json()["status"] == "ok"
