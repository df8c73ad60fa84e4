"""The faces other clients use, each against a real server process: OpenAI's own `openai`
client over /v1 (plain and streamed), and the MCP SDK's client spawning `cppcc-kb mcp`."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import anyio
import httpx
import openai
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.llm_server import free_port
from tests.support.warm_cli import warm_cli

WORKSHOPS = "淄博有多少家“政协委员工作室”？"
NOWHERE = "2031年火星基地建设了多少个温室？"
DOUBTED = "委员履职档案包括什么？"  # near the report's and the deputies law's words; said by neither


@pytest.fixture
def served(corpus_settings):
    """A `cppcc-kb serve` process over a private copy of the shared-corpus knowledge base."""
    warm, port = warm_cli(), free_port()
    server = warm.spawn(["--data", corpus_settings.data, "serve", "--port", port],
                        env={"CPPCC_KB_STAFF_TOKEN": None, "CPPCC_KB_LOG_CLIENT": "true"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    try:
        while True:
            assert server.poll() is None, server.stderr[-3000:]
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, server.stderr[-3000:]
            time.sleep(0.3)
        yield base, corpus_settings.data
    finally:
        server.kill()


def _logged(data: Path, log_id: str) -> tuple:
    deadline = time.monotonic() + 10
    while True:  # the server's writer stores rows a moment after the answer
        try:
            with sqlite3.connect(data / "questions.sqlite") as db:
                row = db.execute("SELECT face, question, abstained FROM questions WHERE id = ?",
                                 (log_id,)).fetchone()
        except sqlite3.OperationalError:  # the writer has not made its table yet
            row = None
        if row or time.monotonic() > deadline:
            return row
        time.sleep(0.1)


def test_openai_client_gets_cited_answers_plain_and_streamed(served):
    base, data = served
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=180, max_retries=0)
    assert [m.id for m in client.models.list()] == ["cppcc-kb"]

    reply = client.chat.completions.create(
        model="cppcc-kb", messages=[{"role": "system", "content": "请简洁"},
                                    {"role": "user", "content": WORKSHOPS}])
    content = reply.choices[0].message.content
    extra = reply.model_extra
    assert reply.choices[0].finish_reason == "stop"
    assert "[1]" in content and "来源：" in content and "政协委员工作室" in content
    assert extra["citations"] and extra["citations"][0]["n"] == 1
    assert extra["citations"][0]["quote"] in content  # the quote is shown, verbatim
    assert extra["cppcc_kb"]["abstained"] is False and extra["cppcc_kb"]["verified"] is True
    assert _logged(data, extra["cppcc_kb"]["log_id"]) == ("openai", WORKSHOPS, 0)

    stream = client.chat.completions.create(
        model="cppcc-kb", stream=True, messages=[{"role": "user", "content": WORKSHOPS}])
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == content  # the same checked answer, in pieces
    assert len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == extra["citations"]

    refused = client.chat.completions.create(
        model="cppcc-kb", messages=[{"role": "user", "content": NOWHERE}])
    assert "知识库中没有找到" in refused.choices[0].message.content
    assert refused.model_extra["cppcc_kb"]["abstained"] is True

    doubt = client.chat.completions.create(
        model="cppcc-kb", messages=[{"role": "user", "content": DOUBTED}])
    said, listed = doubt.choices[0].message.content.split("最接近的原文")
    assert "知识库中没有找到" in said and "来源：" not in said and listed.count("\n① 《") == 1
    assert doubt.model_extra["citations"] == []
    assert len(doubt.model_extra["cppcc_kb"]["closest"]) == 3

    with pytest.raises(openai.BadRequestError, match="no question"):
        client.chat.completions.create(model="cppcc-kb",
                                       messages=[{"role": "assistant", "content": "你好"}])
    with pytest.raises(openai.BadRequestError, match="over the limit"):
        client.chat.completions.create(model="cppcc-kb",
                                       messages=[{"role": "user", "content": "问" * 600}])
    with pytest.raises(openai.BadRequestError, match="over the limit"):
        client.chat.completions.create(model="cppcc-kb", stream=True,
                                       messages=[{"role": "user", "content": "问" * 600}])


def test_cli_ask_is_answered_by_the_running_server(served):
    """`cppcc-kb ask` over a served folder asks that server (models loaded) instead of loading
    its own; logged only with --log, as face cli. The server logs the client address (this
    server has CPPCC_KB_LOG_CLIENT on), which a local answer would not."""
    import json
    import subprocess

    base, data = served
    exe = Path(sys.executable).with_name("cppcc-kb")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CPPCC_KB_")}
    done = subprocess.run([str(exe), "--data", str(data), "ask", WORKSHOPS, "--json", "--log"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert not answer["abstained"] and "44" in answer["answer"]
    with sqlite3.connect(data / "questions.sqlite") as db:
        deadline = time.monotonic() + 10
        while not (rows := db.execute("SELECT face, client FROM questions WHERE question = ?",
                                      (WORKSHOPS,)).fetchall()) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert rows == [("cli", "127.0.0.1")]
    quiet = subprocess.run([str(exe), "--data", str(data), "ask", "淄博有几家“界别同心汇”？"],
                           capture_output=True, text=True, timeout=300, env=env)
    assert quiet.returncode == 0 and "来源：" in quiet.stdout, quiet.stderr
    bad = subprocess.run([str(exe), "--data", str(data), "ask", "问" * 600],
                         capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode == 1 and "over the limit" in bad.stderr and "Traceback" not in bad.stderr
    with sqlite3.connect(data / "questions.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM questions").fetchone() == (1,)


def test_mcp_client_gets_a_cited_answer_from_cppcc_kb_mcp(corpus_settings):
    exe = Path(sys.executable).with_name("cppcc-kb")
    params = StdioServerParameters(command=str(exe),
                                   args=["--data", str(corpus_settings.data), "mcp"])

    async def session_run():
        with anyio.fail_after(300), open(corpus_settings.data.parent / "mcp.err", "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    tools = {t.name for t in (await session.list_tools()).tools}
                    answer = await session.call_tool("ask", {"question": WORKSHOPS})
                    refused = await session.call_tool("ask", {"question": NOWHERE})
                    doubt = await session.call_tool("ask", {"question": DOUBTED})
                    found = await session.call_tool("search", {"query": "政协委员工作室", "k": 3})
                    bad = await session.call_tool("search", {"query": "x", "k": 99})
                    docs = await session.call_tool("list_documents", {})
                    templates = (await session.list_resource_templates()).resource_templates
                    first = docs.structured_content["documents"][0]
                    text = await session.read_resource(first["uri"])
                    return tools, answer, refused, doubt, found, bad, docs, templates, first, text

    (tools, answer, refused, doubt, found, bad, docs, templates, first,
     text) = anyio.run(session_run)
    assert tools == {"ask", "search", "list_documents"}
    data = answer.structured_content
    assert not answer.is_error and not data["abstained"] and data["citations"]
    assert "[1]" in answer.content[0].text and data["citations"][0]["quote"] in answer.content[0].text
    assert _logged(corpus_settings.data, data["log_id"])[:2] == ("mcp", WORKSHOPS)
    assert refused.structured_content["abstained"] and "知识库中没有找到" in refused.content[0].text
    assert data["closest"] == [] and len(doubt.structured_content["closest"]) == 3
    assert "最接近的原文" in doubt.content[0].text
    passages = found.structured_content["passages"]
    assert len(passages) == 3 and any("政协委员工作室" in p["text"] for p in passages)
    assert bad.is_error and "between 1 and 20" in bad.content[0].text
    assert len(docs.structured_content["documents"]) == 14
    assert [t.uri_template for t in templates] == ["cppcc-kb://documents/{doc_id}"]
    assert len(text.contents[0].text) > 1000 and first["title"][:4] in text.contents[0].text


def test_mcp_over_streamable_http(corpus_settings):
    """`cppcc-kb mcp --transport streamable-http`: the same tools at http://HOST:PORT/mcp."""
    import subprocess
    import socket

    from mcp.client.streamable_http import streamable_http_client

    exe, port = Path(sys.executable).with_name("cppcc-kb"), free_port()
    log = open(corpus_settings.data.parent / "mcp-http.err", "w")
    server = subprocess.Popen([str(exe), "--data", str(corpus_settings.data), "mcp",
                               "--transport", "streamable-http", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, (corpus_settings.data.parent / "mcp-http.err").read_text()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.5)

        async def session_run():
            with anyio.fail_after(300):
                async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        return await session.call_tool("ask", {"question": WORKSHOPS})

        answer = anyio.run(session_run)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    assert not answer.is_error and not answer.structured_content["abstained"]
    assert "44" in answer.content[0].text and "来源：" in answer.content[0].text
