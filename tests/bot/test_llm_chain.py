"""The chain in LLM mode: the number guard decides what is shown as fact.

A scripted endpoint writes an answer with an invented figure (deterministic), and the real
llama.cpp server with Gemma 3 270M writes whatever it writes; in both cases nothing whose
figures are missing from its citations may be shown as a verified answer.
"""

from __future__ import annotations

import pytest

from bot.answer import Answer
from bot.chain import Bot
from bot.figures import untraced_figures
from ingest.kb import KnowledgeBase
from tests.bot.test_llm import http_endpoint, send_chunk, sse_event, start_stream
from tests.conftest import make_settings
from tests.support.llm_server import MODEL_ALIAS, running_llm_server

QUESTION = "淄博有多少家“政协委员工作室”？"


def scripted(text: str):
    """An OpenAI-compatible endpoint that streams `text` as its answer to any question."""
    def reply(handler):
        start_stream(handler)
        send_chunk(handler, sse_event(role="assistant"))
        for piece in (text[:6], text[6:]):
            send_chunk(handler, sse_event(piece))
        send_chunk(handler, b"data: [DONE]\n\n")
        send_chunk(handler, b"")
    return http_endpoint(reply)


def llm_bot(corpus_data, embedder, base_url: str) -> Bot:
    settings = make_settings(corpus_data, llm_base_url=base_url, llm_model=MODEL_ALIAS,
                             answer_mode="llm", llm_timeout_s=60)
    return Bot(settings, KnowledgeBase(settings, embedder))


def shown_as_fact_is_traced(answer: Answer) -> bool:
    if answer.abstained or not answer.verified:
        return True
    sources = [f"{c.title}\n{c.heading}\n{c.date}\n{c.passage}" for c in answer.citations]
    return bool(answer.citations) and not untraced_figures(answer.answer, sources)


def test_an_invented_figure_is_not_shown_as_fact(corpus_data, embedder):
    with scripted("淄博共有58家政协委员工作室[1]。") as (url, requests):
        answer = llm_bot(corpus_data, embedder, url).ask(QUESTION)
    assert requests, "the endpoint was asked"
    assert answer.mode == "llm-rejected"
    assert "58" in answer.unverified_figures
    assert "58" not in answer.answer and "44" in answer.answer  # the extractive answer instead
    assert "大模型" in answer.note and answer.verified


def test_a_faithful_llm_answer_is_shown_with_its_citation(corpus_data, embedder):
    with scripted("淄博已有44家“政协委员工作室”[1]。") as (url, _):
        answer = llm_bot(corpus_data, embedder, url).ask(QUESTION, top_k=5)
    assert answer.mode == "llm" and answer.verified and not answer.abstained
    assert answer.citations and answer.citations[0].n == 1
    assert "44" in answer.citations[0].passage


def test_an_answer_without_citation_markers_is_not_shown_as_fact(corpus_data, embedder):
    with scripted("淄博已有44家政协委员工作室。") as (url, _):
        answer = llm_bot(corpus_data, embedder, url).ask(QUESTION)
    assert answer.mode == "llm-rejected" and "没有引用标注" in answer.note


def test_a_near_miss_is_refused_before_any_model_is_asked(corpus_data, embedder):
    with scripted("全国政协每届任期五年[1]。") as (url, requests):
        answer = llm_bot(corpus_data, embedder, url).ask("全国政协每届任期几年？")
    assert answer.abstained and "知识库中没有找到" in answer.answer
    assert not requests  # the evidence named another body: no model may answer over it


def test_streaming_yields_text_then_one_verified_answer(corpus_data, embedder):
    with scripted("淄博已有44家“政协委员工作室”[1]。") as (url, _):
        events = list(llm_bot(corpus_data, embedder, url).stream(QUESTION))
    deltas, final = events[:-1], events[-1]
    assert deltas and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas).startswith("淄博已有44家")
    assert isinstance(final, Answer) and final.verified


@pytest.mark.slow
def test_the_real_small_model_never_shows_an_untraced_figure(corpus_data, embedder):
    questions = [QUESTION, "2025年淄博市政协全年提案数量是多少？", "“界别同心汇”在淄博有几家？"]
    with running_llm_server(n_ctx=4096, threads=2) as url:
        bot = llm_bot(corpus_data, embedder, url)
        answers = [bot.ask(q, top_k=3) for q in questions]
    assert all(a.mode in ("llm", "llm-rejected", "extractive") for a in answers)
    assert all(shown_as_fact_is_traced(a) for a in answers), [a.answer for a in answers]
