"""The page in headless Chromium (selenium): a member asks a dev-set question and sees the answer
with its highlighted source; document HTML shows as text; the staff desk logs in.

Needs Debian's chromium + chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium;
skipped with the reason when they are missing, failed instead when CPPCC_KB_REQUIRE_BROWSER=1.
Screenshots go to artifacts/ (git-ignored) and to the session's tmp folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.chain import Bot
from ingest.kb import KnowledgeBase
from ingest.pipeline import ingest_paths
from tests.conftest import REPO, make_settings
from tests.support.serving import serving
from ui.app import EXAMPLES
from ui.server import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REQUIRE_BROWSER = "CPPCC_KB_REQUIRE_BROWSER"
ARTIFACTS = REPO / "artifacts"
TOKEN = "ui-browser-staff-token-9d41"
TAGGED_NAME = "标签测试.txt"
TAGGED = ("某县政协2032年提案工作情况\n\n2032年，某县政协共收到提案<script>alert(1)</script>777件，"
          "<b>粗体</b>内容应显示为文字。2032年的提案已全部办复。\n")
TAGGED_QUESTION = "某县政协2032年共收到多少件提案？"
ANSWER_TIMEOUT = 180


def _missing() -> str | None:
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (`pip install -e .[test]`)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is absent (apt-get install chromium chromium-driver; needs {package})"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    yield from chromium(tmp_path_factory, "zh-CN")


def chromium(tmp_path_factory, lang: str):
    """A headless Chromium whose browser language is `lang`; skipped/failed when absent."""
    missing = _missing()
    if missing:
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{REQUIRE_BROWSER}=1 but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--window-size=1400,1000", f"--lang={lang}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": f"{lang},{lang[:2]}"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(120)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def url(driver, corpus_data, embedder, tmp_path_factory) -> Iterator[str]:
    """The app over a copy of the corpus KB plus a document full of HTML tags."""
    data = tmp_path_factory.mktemp("ui-browser") / "kb"
    shutil.copytree(corpus_data, data)
    settings = make_settings(data, staff_token=TOKEN)
    bot = Bot(settings, KnowledgeBase(settings, embedder))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / TAGGED_NAME).write_text(TAGGED, encoding="utf-8")
        summary = ingest_paths([Path(folder) / TAGGED_NAME], settings, kb=bot.kb)
    assert summary.count("added") == 1, summary.outcomes
    with serving(create_app(settings, bot)) as base:
        yield base


@pytest.fixture(scope="module")
def dev_questions(shared_evals) -> dict[str, dict]:
    lines = (shared_evals / "seed_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["id"]: row for row in (json.loads(line) for line in lines if line)}


# ---- helpers -------------------------------------------------------------------------------
def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait(driver, condition, timeout: float = 60, message: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition, message)


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait(driver, lambda d: by_css(d, "#kb-question textarea"), message="the chat did not load")
    time.sleep(0.5)  # let the load event fill the filters


def ask(driver, question: str) -> tuple:
    """Type a question, press Enter, wait for its answer; (answer element, sources panel)."""
    from selenium.webdriver.common.keys import Keys

    before = len(answers(driver))
    box = by_css(driver, "#kb-question textarea")[0]
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    wait(driver, lambda d: len(answers(d)) > before, ANSWER_TIMEOUT,
         f"no answer to {question!r} within {ANSWER_TIMEOUT}s")
    time.sleep(0.3)
    return answers(driver)[-1], by_css(driver, "#kb-sources-panel")[0]


def answers(driver) -> list:
    return by_css(driver, "#kb-chat .kb-answer:not(.kb-pending):not(.kb-streaming)")


def screenshot(driver, name: str, tmp_path_factory) -> list[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    paths = [ARTIFACTS / name, tmp_path_factory.getbasetemp() / name]
    for path in paths:
        assert driver.save_screenshot(str(path)), path
    print(f"screenshot: {paths[0]} (copy: {paths[1]})")
    return paths


# ---- tests ---------------------------------------------------------------------------------
def test_the_page_is_chinese_with_example_questions(driver, url):
    open_page(driver, url)
    assert driver.title == "政协知识库问答"
    assert by_css(driver, "#kb-header h1")[0].text == "政协知识库问答"
    body = by_css(driver, "body")[0].text
    for text in EXAMPLES[:3] + ["问答", "工作人员", "新对话", "发送", "引用来源"]:
        assert text in body, text
    assert "15 份文件" in body  # the corpus plus the tagged document


def test_a_dev_question_shows_the_answer_and_its_highlighted_source(driver, url, dev_questions,
                                                                    tmp_path_factory):
    row = dev_questions["d01"]
    open_page(driver, url)
    answer, panel = ask(driver, row["question"])
    expected = row["answers"][0]
    assert expected in answer.text and "[1]" in answer.text
    assert "kb-verified" in answer.get_attribute("class")
    marks = [m.text for m in panel.find_elements("css selector", ".kb-src mark.kb-quote")
             if m.is_displayed()]
    assert any(expected in m for m in marks), marks
    assert "淄博政协这一年" in panel.text and "2026-01-13" in panel.text
    screenshot(driver, "ui-chat.png", tmp_path_factory)


def test_clicking_a_source_shows_or_hides_its_whole_passage(driver, url, dev_questions):
    open_page(driver, url)
    _, panel = ask(driver, dev_questions["d01"]["question"])
    card = panel.find_elements("css selector", "details.kb-src")[0]
    passage = card.find_element("css selector", ".kb-passage")
    assert card.get_attribute("open") is not None and passage.is_displayed()
    card.find_element("css selector", "summary").click()
    wait(driver, lambda d: not passage.is_displayed(), 10, "the passage did not collapse")
    assert card.find_element("css selector", ".kb-snippet mark").is_displayed()
    card.find_element("css selector", "summary").click()
    wait(driver, lambda d: passage.is_displayed(), 10, "the passage did not open")
    assert "承载民意" in passage.text


def test_an_unanswerable_question_looks_different(driver, url, tmp_path_factory):
    open_page(driver, url)
    answer, panel = ask(driver, "济南市政协2025年全年提案数量是多少？")  # the report is Zibo's
    assert "kb-abstained" in answer.get_attribute("class")
    assert "知识库中没有找到相关内容" in answer.text and "原因：" in answer.text
    assert not panel.find_elements("css selector", "mark")
    screenshot(driver, "ui-abstained.png", tmp_path_factory)


def test_document_html_is_displayed_as_text_never_run(driver, url):
    from selenium.common.exceptions import NoAlertPresentException

    open_page(driver, url)
    driver.execute_script("window.__alerts = []; window.alert = m => window.__alerts.push(m);")
    answer, panel = ask(driver, TAGGED_QUESTION)
    assert "777" in answer.text
    passage = panel.find_element("css selector", ".kb-passage")
    assert "<script>alert(1)</script>" in passage.text and "<b>粗体</b>" in passage.text
    assert "<b>粗体</b>" in answer.text
    for root in (panel, answer):
        assert not root.find_elements("css selector", "script, b, img")
    assert driver.execute_script("return window.__alerts") == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


def test_new_chat_clears_the_history_and_sources(driver, url, dev_questions):
    open_page(driver, url)
    ask(driver, dev_questions["d01"]["question"])
    by_css(driver, "#kb-new-chat")[0].click()
    wait(driver, lambda d: not answers(d), 20, "新对话 did not clear the chat")
    wait(driver, lambda d: by_css(d, "#kb-sources-panel .kb-sources-empty"), 20)
    assert EXAMPLES[0] in by_css(driver, "#kb-chat")[0].text  # the examples are back


def test_staff_desk_needs_the_password_and_lists_documents(driver, url, tmp_path_factory):
    open_page(driver, url)
    tab = next(b for b in by_css(driver, "button[role=tab]") if "工作人员" in b.text)
    tab.click()
    password = wait(driver, lambda d: [e for e in by_css(d, "#kb-staff-password input")
                                       if e.is_displayed()], 20)[0]
    assert not [e for e in by_css(driver, "#kb-upload") if e.is_displayed()]
    password.send_keys("not-the-password")
    by_css(driver, "#kb-staff-login")[0].click()
    wait(driver, lambda d: "口令不正确" in by_css(d, "#kb-login-msg")[0].text, 30)
    assert not [e for e in by_css(driver, "#kb-upload") if e.is_displayed()]
    password.clear()
    password.send_keys(TOKEN)
    by_css(driver, "#kb-staff-login")[0].click()
    wait(driver, lambda d: [e for e in by_css(d, "#kb-upload") if e.is_displayed()], 30,
         "the desk did not open after login")
    wait(driver, lambda d: TAGGED_NAME in by_css(d, "#kb-docs")[0].text, 30)
    docs = by_css(driver, "#kb-docs")[0]
    assert "标题" in docs.text and "入库时间" in docs.text
    assert not docs.find_elements("css selector", "script, b")
    screenshot(driver, "ui-staff.png", tmp_path_factory)
    # The login lives in a cookie the server issued, sent with each staff action.
    assert "kb_staff=" in driver.execute_script("return document.cookie")
    next(b for b in by_css(driver, "button") if b.text.strip() == "刷新列表").click()
    wait(driver, lambda d: TAGGED_NAME in by_css(d, "#kb-docs")[0].text, 30)
    time.sleep(1.5)
    assert "请先" not in driver.page_source
    driver.execute_script("document.cookie = 'kb_staff=; path=/; max-age=0'")
    next(b for b in by_css(driver, "button") if b.text.strip() == "刷新列表").click()
    wait(driver, lambda d: "请先" in d.page_source, 30, "no cookie, yet not refused")
