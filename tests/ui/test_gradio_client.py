"""The chat and the staff desk driven through `gradio_client`, against the real app (FastAPI +
mounted Gradio) served by uvicorn over the shared-corpus knowledge base; and `cppcc-kb serve`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from bot.chain import Bot
from ingest.kb import KnowledgeBase
from tests.conftest import make_settings
from tests.support.llm_server import free_port
from tests.support.serving import serving
from ui.server import create_app

gradio_client = pytest.importorskip("gradio_client")

TOKEN = "ui-test-staff-token-5c2e"
NEW_FACT_NAME = "某市政协2031年提案工作.txt"
NEW_FACT = "某市政协2031年共收到提案888件。\n其中经审查立案800件，已全部办复。\n"
NEW_FACT_QUESTION = "某市政协2031年共收到多少件提案？"
ZIBO_SOURCE = "zibo-cppcc-2025-review.txt"


# ---- serving -------------------------------------------------------------------------------
def client(url: str):
    return gradio_client.Client(url, verbose=False, download_files=False)


def staff_login(c) -> tuple:
    """Log in as the browser does: the login's last output is the session id the page keeps
    as its `kb_staff` cookie."""
    outputs = c.predict(TOKEN, api_name="/staff_login")
    c.cookies["kb_staff"] = outputs[-1]
    return outputs


@pytest.fixture(scope="module")
def dev_questions(shared_evals) -> dict[str, dict]:
    rows = [json.loads(line) for line in
            (shared_evals / "seed_dev.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def chat_url(corpus_bot) -> Iterator[str]:
    """The app over the shared corpus, read-only use, no staff token (so no desk)."""
    with serving(create_app(corpus_bot.settings, corpus_bot)) as url:
        yield url


@pytest.fixture
def staff_url(corpus_settings, embedder) -> Iterator[str]:
    """The app with a staff desk, over a private copy of the corpus knowledge base."""
    settings = make_settings(corpus_settings.data, staff_token=TOKEN)
    bot = Bot(settings, KnowledgeBase(settings, embedder))
    with serving(create_app(settings, bot)) as url:
        yield url


# ---- helpers -------------------------------------------------------------------------------
def ask(c, question: str, doc_ids=(), years=()) -> tuple[str, str]:
    """(the last chat message's HTML, the sources panel's HTML)."""
    _, messages, sources = c.predict(question, list(doc_ids), list(years), api_name="/ask")
    return text_of(messages[-1]), sources


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def table(value: dict) -> list[dict]:
    return [dict(zip(value["headers"], row)) for row in value["data"]]


# ---- the chat ------------------------------------------------------------------------------
def test_a_dev_question_is_answered_with_marked_sources(chat_url, dev_questions):
    row = dev_questions["d01"]  # 2025年淄博市政协全年提案数量是多少？ → 636
    answer, sources = ask(client(chat_url), row["question"])
    assert 'class="kb-answer kb-verified"' in answer
    assert row["answers"][0] in answer and '<span class="kb-ref"' in answer
    marked = "".join(re.findall(r'<mark class="kb-quote">(.*?)</mark>', sources))
    assert row["answers"][0] in marked
    assert "《淄博政协这一年" in sources and "2026-01-13" in sources and "<details" in sources


NEAR_MISS = "济南市政协2025年全年提案数量是多少？"  # the report is Zibo's


def test_an_unanswerable_question_abstains_visibly(chat_url):
    # a near miss the evidence contradicts (seed_dev's d11 and d12 are answered today: issue 14)
    answer, sources = ask(client(chat_url), NEAR_MISS)
    assert 'class="kb-answer kb-abstained"' in answer and "知识库中没有找到相关内容" in answer
    assert "原因：" in answer and "kb-ref" not in answer
    assert "<mark" not in sources and "没有能回答这个问题的资料" in sources


def test_a_follow_up_uses_the_conversation_and_new_chat_forgets_it(chat_url, dev_questions):
    c = client(chat_url)
    ask(c, dev_questions["d01"]["question"])
    followed, _ = ask(c, "那协商呢？")
    assert "167" in followed
    messages = c.predict(api_name="/new_chat")[1]
    assert messages == []
    alone, _ = ask(c, "那协商呢？")
    assert "167" not in alone


def test_filters_narrow_the_documents_and_years(chat_url, corpus_bot):
    records = corpus_bot.kb.records().values()
    zibo = next(r.doc_id for r in records if r.source == ZIBO_SOURCE)
    flag_law = next(r.doc_id for r in records if r.source.startswith("国旗法"))
    c = client(chat_url)
    question = "淄博有多少家“政协委员工作室”？"
    inside, sources = ask(c, question, doc_ids=[zibo])
    assert "44" in inside and ZIBO_SOURCE in sources
    outside, _ = ask(client(chat_url), question, doc_ids=[flag_law])
    assert "kb-abstained" in outside
    other_year, _ = ask(client(chat_url), question, years=[2017])
    assert "kb-abstained" in other_year


def test_an_empty_question_changes_nothing(chat_url):
    textbox, messages, _ = client(chat_url).predict("   ", [], [], api_name="/ask")
    assert messages == [] and textbox == ""


def test_without_a_staff_token_there_is_no_desk(chat_url):
    endpoints = client(chat_url).view_api(print_info=False, return_format="dict")
    names = set(endpoints["named_endpoints"])
    assert "/ask" in names and not any(n.startswith("/staff") for n in names)
    config = httpx.get(f"{chat_url}/config", timeout=30).json()
    assert "工作人员" not in json.dumps(config, ensure_ascii=False)
    assert "问答" in json.dumps(config, ensure_ascii=False)


def test_the_api_still_answers_beside_the_page(chat_url):
    health = httpx.get(f"{chat_url}/api/health", timeout=60).json()
    assert health["documents"] == 14
    page = httpx.get(chat_url, timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()


# ---- the staff desk ------------------------------------------------------------------------
def test_staff_desk_upload_answer_reindex_delete(staff_url, tmp_path):
    new_fact = tmp_path / NEW_FACT_NAME
    new_fact.write_text(NEW_FACT, encoding="utf-8")
    broken = tmp_path / "损坏的报告.pdf"
    broken.write_bytes(b"%PDF-1.4 truncated")
    c = client(staff_url)

    # Nothing works before login, whatever the client sends (the file itself is refused).
    with pytest.raises(Exception, match="403|log in|请先"):
        c.predict([gradio_client.handle_file(str(new_fact))], api_name="/staff_upload")
    with pytest.raises(Exception, match="请先"):
        c.predict(api_name="/staff_documents")
    refused = c.predict("wrong-password-123", api_name="/staff_login")
    assert "口令不正确" in json.dumps(refused, ensure_ascii=False)
    with pytest.raises(Exception, match="请先"):
        c.predict(api_name="/staff_documents")

    login = staff_login(c)
    docs = table(login[-3])
    assert len(docs) == 14 and {"doc_id", "标题", "日期", "来源", "段落数", "入库时间"} <= docs[0].keys()

    files = [gradio_client.handle_file(str(p)) for p in (new_fact, broken)]
    rows, message, doc_table, *_ = c.predict(files, api_name="/staff_upload")
    good, bad = table(rows)
    assert good["文件"] == NEW_FACT_NAME and good["状态"] == "新增" and good["段落数"] > 0
    assert bad["文件"] == "损坏的报告.pdf" and bad["状态"] == "失败" and bad["原因 / 处理办法"]
    assert "新增 1 个" in message and "失败 1 个" in message
    new_id = good["doc_id"]
    listed = {d["doc_id"]: d for d in table(doc_table)}
    assert listed[new_id]["来源"] == NEW_FACT_NAME and len(listed) == 15

    # The chat answers from the new document at once.
    answer, sources = ask(c, NEW_FACT_QUESTION)
    assert "888" in answer and NEW_FACT_NAME in sources

    again = table(c.predict([gradio_client.handle_file(str(new_fact))],
                            api_name="/staff_upload")[0])
    assert again[0]["状态"] == "未变" and again[0]["doc_id"] == new_id

    reindexed = c.predict(new_id, api_name="/staff_reindex")[0]
    assert "某市政协2031年提案工作" in reindexed and "失败" not in reindexed

    # Delete asks for a confirmation first.
    pending = c.predict(new_id, api_name="/staff_delete")
    assert "确认删除" in json.dumps(pending, ensure_ascii=False)
    assert new_id in {d["doc_id"] for d in table(c.predict(api_name="/staff_documents")[0])}
    message, doc_table, *_ = c.predict(api_name="/staff_delete_confirm")
    assert "已删除" in message
    assert new_id not in {d["doc_id"] for d in table(doc_table)}
    answer, _ = ask(c, NEW_FACT_QUESTION)
    assert "888" not in answer
    with pytest.raises(Exception, match="没有待确认的删除"):
        c.predict(api_name="/staff_delete_confirm")

    # A new session (another browser) is not logged in; nor is one reusing this session's
    # hash without its cookie, nor this one once logged out.
    with pytest.raises(Exception, match="请先"):
        client(staff_url).predict(new_id, api_name="/staff_delete")
    borrowed = client(staff_url)
    borrowed.session_hash = c.session_hash
    with pytest.raises(Exception, match="请先"):
        borrowed.predict(api_name="/staff_documents")
    assert table(c.predict(api_name="/staff_documents")[0])  # the owner still is
    c.predict(api_name="/staff_logout")
    with pytest.raises(Exception, match="请先"):
        c.predict(api_name="/staff_documents")


def test_staff_desk_rejects_manifest_and_duplicate_names(staff_url, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"documents": {}}', encoding="utf-8")
    first, second = tmp_path / "a" / NEW_FACT_NAME, tmp_path / "b" / NEW_FACT_NAME
    for path, figure in ((first, "888"), (second, "999")):
        path.parent.mkdir()
        path.write_text(NEW_FACT.replace("888", figure), encoding="utf-8")
    c = client(staff_url)
    staff_login(c)
    files = [gradio_client.handle_file(str(p)) for p in (manifest, first, second)]
    note, added, twin = table(c.predict(files, api_name="/staff_upload")[0])
    assert note["文件"] == "manifest.json" and note["状态"] == "失败"
    assert "不是文档" in note["原因 / 处理办法"] and note["doc_id"] == ""
    assert added["文件"] == NEW_FACT_NAME and added["状态"] == "新增"
    assert twin["文件"] == NEW_FACT_NAME and twin["状态"] == "失败"
    assert "同名" in twin["原因 / 处理办法"]
    answer, _ = ask(c, NEW_FACT_QUESTION)
    assert "888" in answer and "999" not in answer


def test_an_upload_while_another_ingest_runs_waits_its_turn(staff_url, corpus_settings, tmp_path):
    import threading

    from ingest.lock import ingest_lock

    new_fact = tmp_path / NEW_FACT_NAME
    new_fact.write_text(NEW_FACT, encoding="utf-8")
    c = client(staff_url)
    staff_login(c)
    held = threading.Event()

    def other_ingest():  # holds the knowledge base for three seconds, as a CLI ingest would
        with ingest_lock(corpus_settings.data):
            held.set()
            threading.Event().wait(3)

    holder = threading.Thread(target=other_ingest)
    holder.start()
    held.wait(10)
    rows, message, *_ = c.predict([gradio_client.handle_file(str(new_fact))],
                                  api_name="/staff_upload")
    holder.join()
    assert "Traceback" not in message and "新增 1 个" in message
    assert table(rows)[0]["状态"] == "新增"
    # The desk lists the job: its file, that it ended, how it went.
    jobs = table(c.predict(api_name="/staff_jobs"))
    mine = next(j for j in jobs if NEW_FACT_NAME in j["文件"])
    assert mine["状态"] == "完成" and mine["进度"] == "1/1" and "新增 1 个" in mine["说明"]
    with pytest.raises(Exception, match="请先"):
        client(staff_url).predict(api_name="/staff_jobs")


# ---- `cppcc-kb serve` ------------------------------------------------------------------------
def test_serve_ingests_the_corpus_into_an_empty_store_then_runs(settings, embedder, monkeypatch,
                                                               tmp_path):
    import bot.chain
    from cppcc_kb.cli import cli

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NEW_FACT_NAME).write_text(NEW_FACT, encoding="utf-8")
    runs = []
    monkeypatch.setattr(bot.chain, "get_bot",
                        lambda s: Bot(s, KnowledgeBase(s, embedder)))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: runs.append((app, kw)))
    monkeypatch.setenv("CPPCC_KB_CORPUS_DIR", str(corpus))
    args = ["--data", str(settings.data), "serve", "--host", "127.0.0.1", "--port", "7999"]

    first = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "is empty: ingesting" in first.output and "1/1 files" in first.output
    assert "1 added" in first.output and "http://127.0.0.1:7999/" in first.output
    app, options = runs[-1]
    assert options == {"host": "127.0.0.1", "port": 7999, "log_level": "warning"}
    assert "/api/health" in app.openapi()["paths"]

    second = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert second.exit_code == 0 and "ingesting" not in second.output and len(runs) == 2


# ---- LLM mode: streaming and the fallback note ----------------------------------------------
class _StreamingBot:
    """Stands in for Bot.stream: three deltas, then the checked Answer."""

    def __init__(self, settings):
        self.settings = settings

    def stream(self, question, history=None, filters=None, top_k=None, mode=None, log="",
               client=""):
        from bot.answer import Answer, Citation

        yield from ["全年", "636件", "提案[1]"]
        yield Answer("全年636件提案[1]", abstained=False, verified=True, mode="llm", citations=[
            Citation(n=1, doc_id="d", title="淄博政协这一年", source="z.txt", quote="全年636件提案",
                     start=0, end=8, score=1.0, passage="全年636件提案承载民意")])

    def ask(self, *args, **kwargs):
        raise AssertionError("in llm mode the chat streams")


def test_llm_mode_streams_deltas_into_the_chat_then_the_checked_answer(settings):
    from ui.app import ChatHandlers

    llm = settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"})
    assert llm.effective_mode == "llm"
    steps = list(ChatHandlers(_StreamingBot(llm), llm).ask("全年提案多少？", [], [], None))
    chats = [text_of(step[1][-1]) for step in steps]
    assert [len(step[1]) for step in steps] == [2] * len(steps)  # question + answer slot
    assert "kb-pending" in chats[0]
    drafts = [c for c in chats if "kb-streaming" in c]
    assert len(drafts) == 3 and "全年" in drafts[0] and "636件" in drafts[1]
    assert "kb-verified" in chats[-1] and "大模型撰写" in chats[-1]
    assert "<mark" in steps[-1][2] and steps[-1][3]["questions"] == ["全年提案多少？"]


def test_llm_down_falls_back_to_quotes_with_a_small_note(corpus_bot):
    closed = free_port()  # nothing listens there
    settings = corpus_bot.settings.model_copy(update={
        "answer_mode": "llm", "llm_base_url": f"http://127.0.0.1:{closed}/v1",
        "llm_timeout_s": 5.0})
    with serving(create_app(settings, Bot(settings, corpus_bot.kb))) as url:
        answer, sources = ask(client(url), "淄博有多少家“政协委员工作室”？")
    assert "44" in answer and "大模型暂不可用" in answer and "kb-note kb-small" in answer
    assert "<mark" in sources



def test_gradio_uploads_need_the_staff_login_cookie(staff_url):
    import httpx

    base = staff_url.rstrip("/")
    files = {"files": ("a.txt", b"x" * 1000)}
    anonymous = httpx.post(f"{base}/gradio_api/upload", files=files, timeout=60)
    assert anonymous.status_code == 403 and "log in" in anonymous.json()["detail"]
    forged = httpx.post(f"{base}/gradio_api/upload", files=files, timeout=60,
                        cookies={"kb_staff": "made-up-session-id"})
    assert forged.status_code == 403
    c = client(staff_url)
    staff_login(c)
    staff = httpx.post(f"{base}/gradio_api/upload", files=files, timeout=60, cookies=c.cookies)
    assert staff.status_code == 200, staff.text


def test_a_planted_figure_is_shown_as_a_dispute_and_listed_for_staff(staff_url, tmp_path):
    planted = tmp_path / "补充说明.txt"
    planted.write_text("# 2025年淄博市政协工作补充说明\n\n2025年，淄博市政协全年提案共9999件。\n",
                       encoding="utf-8")
    c = client(staff_url)
    staff_login(c)
    rows = table(c.predict([gradio_client.handle_file(str(planted))], api_name="/staff_upload")[0])
    assert rows[0]["状态"] == "新增"
    answer, sources = ask(c, "2025年淄博市政协全年提案数量是多少？")
    assert "资料之间的数字不一致" in answer and "9999" in answer and "636" in answer
    assert "✓" not in answer
    listed = table(c.predict(api_name="/staff_conflicts"))
    assert listed and listed[0]["问题"] == "2025年淄博市政协全年提案数量是多少？"
    assert "9999" in listed[0]["各自的数字"] and "636" in listed[0]["各自的数字"]
    assert "补充说明" in listed[0]["不一致的文档"] and listed[0]["次数"] == 1
    with pytest.raises(Exception, match="请先"):
        client(staff_url).predict(api_name="/staff_conflicts")
