"""The staff loop in headless Chromium: a member's question is refused, the member gives it a
thumbs-down with a reason, staff log in and see it in the queue, upload a document that answers
it on the desk, and the queue shows it answered by that document. Screenshots of the queue, the
usage page and the audit trail go to artifacts/."""

from __future__ import annotations

import shutil
import time

import pytest

from bot.chain import Bot
from ingest.kb import KnowledgeBase
from tests.conftest import make_settings
from tests.support.serving import serving
from tests.ui.test_browser import ask, by_css, chromium, open_page, screenshot, wait
from ui.server import create_app

TOKEN = "ui-loop-staff-token-51c8e0"
QUESTION = "某市政协2031年共收到多少件提案？"
NEW_NAME = "某市政协2031年提案工作.txt"
NEW_TEXT = "某市政协2031年提案工作情况\n\n某市政协2031年共收到提案888件。\n其中经审查立案800件，已全部办复。\n"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """An English-language browser: the page must still speak Chinese, Gradio's words too."""
    yield from chromium(tmp_path_factory, "en-US")


@pytest.fixture(scope="module")
def url(driver, corpus_data, embedder, tmp_path_factory):
    data = tmp_path_factory.mktemp("ui-loop") / "kb"
    shutil.copytree(corpus_data, data)
    settings = make_settings(data, staff_token=TOKEN)
    bot = Bot(settings, KnowledgeBase(settings, embedder))
    with serving(create_app(settings, bot)) as base:
        yield base


def _tab(driver, label: str) -> None:
    button = wait(driver, lambda d: [b for b in by_css(d, "button[role=tab]")
                                     if b.text.strip() == label and b.is_displayed()], 30,
                  f"no tab {label}")[0]
    button.click()
    time.sleep(0.5)


def _text(driver, selector: str) -> str:
    found = by_css(driver, selector)
    return found[0].text if found else ""


def test_refused_question_disliked_queued_then_answered_by_an_upload(driver, url, tmp_path,
                                                                     tmp_path_factory):
    open_page(driver, url)
    answer, _ = ask(driver, QUESTION)
    assert "知识库中没有找到" in answer.text
    wait(driver, lambda d: [b for b in by_css(d, "#kb-chat button[aria-label=Feedback]")
                            if b.is_displayed()], 20)[-1].click()
    option = wait(driver, lambda d: [b for b in by_css(d, "#kb-chat .extra-feedback-option")
                                     if b.text.strip() == "应该能回答" and b.is_displayed()], 20)
    option[-1].click()
    wait(driver, lambda d: "反馈已记录" in d.page_source, 20, "no thanks for the feedback")

    _tab(driver, "工作人员")
    password = wait(driver, lambda d: [e for e in by_css(d, "#kb-staff-password input")
                                       if e.is_displayed()], 20)[0]
    password.send_keys(TOKEN)
    by_css(driver, "#kb-staff-login")[0].click()
    wait(driver, lambda d: [e for e in by_css(d, "#kb-upload") if e.is_displayed()], 30)
    _tab(driver, "未回答的问题")
    wait(driver, lambda d: QUESTION in _text(d, "#kb-queue"), 60, "the question is not queued")
    queue = _text(driver, "#kb-queue")
    assert "差评：应该能回答" in queue and "拒答：" in queue
    screenshot(driver, "ui-queue-before.png", tmp_path_factory)

    _tab(driver, "文档")
    box = _text(driver, "#kb-upload-files")
    assert "将文件拖放到此处" in box and "点击选择文件" in box and "Drop" not in box
    path = tmp_path / NEW_NAME
    path.write_text(NEW_TEXT, encoding="utf-8")
    by_css(driver, "#kb-upload-files input[type=file]")[0].send_keys(str(path))
    wait(driver, lambda d: "83.0 B" in _text(d, "#kb-upload-files") or "B ⇣" in _text(
        d, "#kb-upload-files"), 30, "file not picked")
    by_css(driver, "#kb-upload")[0].click()
    wait(driver, lambda d: "新增" in _text(d, "#kb-upload-results"), 240, "upload not done")
    wait(driver, lambda d: "B ⇣" not in _text(d, "#kb-upload-files"), 30,
         "the stored file stays in the upload box")

    _tab(driver, "未回答的问题")
    wait(driver, lambda d: "现在能回答" in _text(d, "#kb-queue"), 120,
         "the queue does not show the question answered by the new document")
    queue = _text(driver, "#kb-queue")
    assert "888" in queue and "2031年提案工作" in queue
    screenshot(driver, "ui-queue.png", tmp_path_factory)

    _tab(driver, "使用情况")
    wait(driver, lambda d: "个提问" in _text(d, "#kb-usage-summary"), 30)
    assert "拒答率" in _text(driver, "#kb-usage-summary")
    time.sleep(2)  # the charts draw
    screenshot(driver, "ui-usage.png", tmp_path_factory)

    _tab(driver, "操作记录")
    wait(driver, lambda d: NEW_NAME in _text(d, "#kb-audit"), 30)
    assert "新增" in _text(driver, "#kb-audit") and "desk" in _text(driver, "#kb-audit")
    screenshot(driver, "ui-audit.png", tmp_path_factory)
