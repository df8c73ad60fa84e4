"""The one answering chain — question → retrieve → answer → verify — as a LangChain runnable.

The CLI, the API, the Gradio app and the evals all call `Bot.ask` / `Bot.stream`, which run the
same step functions; none of them re-implements retrieval or answering.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from itertools import zip_longest
from dataclasses import dataclass, field

from langchain_core.runnables import RunnableLambda

from bot.answer import NOT_FOUND, Answer, closest_passages
from bot.answering.analysis import Analysis, analyze, expand_query, split_subquestions
from bot.answering.decision import Decision, DocFacts, decide, disputed_by
from bot.conflicts import ConflictLog
from bot.question_checks import english, question_problem
from bot.questionlog import QuestionLog, new_log_id, row_of
from bot.answering.evidence import (Evidence, Source, articles_to_follow, gather, sources_of,
                                    with_referrals)
from bot.answering.model import AnswerModel, shipped_model
from bot.answering.reasons import HARD, Reason, render
from bot.citations import build_citations, combine, verify_llm_answer
from bot.errors import AnswerCancelled, AnswerError, LLMUnavailable, QuestionError
from bot.grounding import Grounding
from bot.rerank import by_cross_encoder
from bot.retriever import KnowledgeBaseRetriever, to_passage
from bot.retrieval import (Filters, HybridSearch, Passage, docs_compared, question_about,
                           titles_named)
from cppcc_kb.settings import Settings
from ingest.kb import KnowledgeBase
from ingest.sentence_vectors import basis_for
from ingest.store import derived

DISPUTED_LEAD = "不同资料对此给出的数字不一致："
ANSWER_PASSAGES = 8  # passages shown as retrieved; the answerer reads every one retrieved
_HEADER_DOCS = 3  # a history question reads the headers of this many of the top laws
_RANK_BLEND = 0.15  # weight of the retrieval rank beside the best sentence when ordering passages


@dataclass
class Turn:
    """State flowing through the chain; each stage adds its frozen result."""

    question: str
    history: list[str] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    top_k: int = 5
    mode: str = "extractive"
    part_of: str = ""  # the whole question, when this turn answers one part of it
    # Has the asker gone away? Checked between an LLM's deltas (`Bot.ask(cancelled=…)`).
    cancelled: Callable[[], bool] | None = None
    named: set[str] = field(default_factory=set)  # documents the question names
    # A question answered in parts: (how each part is named, [(its question, the parts before
    # it, the document it is asked of)]); None for one answered whole.
    split: tuple[list[str], list[tuple[str, list[str], str]]] | None = None
    info: Analysis | None = None  # stage 1
    passages: list[Passage] = field(default_factory=list)
    evidence: Evidence | None = None  # stage 2
    decision: Decision | None = None  # stage 3
    answer: Answer | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class Bot:
    def __init__(self, settings: Settings, kb: KnowledgeBase | None = None,
                 model: AnswerModel | None = None):
        self.settings = settings
        self.kb = kb or KnowledgeBase(settings)
        self.kb.check_embedder()  # a store built by another model must not answer silently
        self.search = HybridSearch(self.kb)
        self.retriever = KnowledgeBaseRetriever(search=self.search, k=ANSWER_PASSAGES)
        self.conflicts = ConflictLog(settings.data / "conflicts.sqlite")  # for the desk
        self.questions = QuestionLog(settings.question_log, settings.log_retention_days,
                                     enabled=settings.log_questions)
        self.model = model or shipped_model()
        _check_model(self.model)
        self.runnable = (RunnableLambda(self._prepare, name="prepare")
                         | RunnableLambda(self._retrieve, name="retrieve")
                         | RunnableLambda(self._answer, name="answer")
                         | RunnableLambda(self._verify, name="verify"))

    # ---- public faces ------------------------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None, filters: dict | None = None,
            top_k: int | None = None, mode: str | None = None, log: str = "",
            client: str = "", cancelled: Callable[[], bool] | None = None) -> Answer:
        """The cited answer (or refusal). `log` names the face asking (api, chat, openai, mcp,
        cli); given, the question goes into the question log and the answer carries its
        `log_id`. `client` is stored only when CPPCC_KB_LOG_CLIENT is on. `cancelled()` true
        (the asker went away) stops an LLM mid-answer: AnswerCancelled."""
        turn = self._turn(question, history, filters, top_k, mode)
        turn.cancelled = cancelled
        turn = self.runnable.invoke(turn)
        return self._logged(turn, log, client, filters)

    def stream(self, question: str, history: list[str] | None = None,
               filters: dict | None = None, top_k: int | None = None,
               mode: str | None = None, log: str = "",
               client: str = "") -> Iterator[str | Answer]:
        """Text deltas while an LLM writes, then the verified Answer (always last)."""
        turn = self._retrieve(self._prepare(self._turn(question, history, filters, top_k, mode)))
        if turn.mode == "llm":
            draft = self._extractive(turn)
            if not _hard_refusal(draft):
                text = ""
                try:
                    for delta in self._llm_deltas(turn):
                        text += delta
                        yield delta
                    turn.answer = self._llm_result(turn, text)
                except LLMUnavailable as exc:
                    turn.answer = _with_note(draft, f"大模型暂不可用，已改用摘录回答：{exc}")
            else:
                turn.answer = draft
        else:
            turn.answer = self._extractive(turn)
        turn.timings["answer"] = _ms_since(turn, "retrieve")
        yield self._logged(self._verify(turn), log, client, filters)

    def _logged(self, turn: Turn, face: str, client: str, filters: dict | None) -> Answer:
        answer = turn.answer
        if face and self.questions.enabled:
            answer.log_id = new_log_id()
            self.questions.record(row_of(
                answer.log_id, face, turn.question, turn.history, filters, answer,
                client=client if self.settings.log_client else ""))
        return answer

    def analyse(self, question: str, history: list[str] | None = None,
                filters: dict | None = None) -> Turn:
        """Stages 1 and 2 only: the analysis and the evidence, for fitting and inspection."""
        return self._retrieve(self._prepare(self._turn(question, history, filters, None,
                                                       "extractive")))

    def _turn(self, question, history, filters, top_k, mode) -> Turn:
        return Turn(question=question if isinstance(question, str) else "",
                    history=[h for h in (history or []) if isinstance(h, str) and h.strip()],
                    filters=Filters.parse(filters), top_k=top_k or self.settings.top_k,
                    mode=mode or self.settings.effective_mode)

    # ---- steps ---------------------------------------------------------------------------
    def _prepare(self, turn: Turn) -> Turn:
        question = " ".join(turn.question.split())
        check_question_input(question, turn.history, self.settings)
        if turn.mode == "llm" and not self.settings.llm_base_url:
            raise QuestionError("mode llm needs an LLM endpoint: set CPPCC_KB_LLM_BASE_URL")
        turn.question = question
        self.search.prefetch(expand_query(question))  # the model runs while the question is read
        if not turn.part_of:
            turn.split = self._split(question)
            for part, earlier, _ in turn.split[1] if turn.split else ():
                # Each part's searches come later: its own, and (a part leans on the one
                # before it, or on the conversation) the one blended with that question.
                self.search.prefetch(expand_query(part))
                if blended := _blended(turn.history + earlier, part):
                    self.search.prefetch(blended)
        keywords = self.kb.keywords
        turn.info = analyze(question, turn.history, keywords.document_frequency, len(keywords),
                            leans=bool(turn.part_of))
        turn.timings["prepare"] = _ms_since(turn)
        return turn

    def _retrieve(self, turn: Turn) -> Turn:
        # A question that stands on its own is not pulled towards the earlier topic.
        context = turn.history[-1:] if turn.info.followup else []
        named = " ".join(context + [turn.question])
        records = self.kb.records()
        turn.named = titles_named(named, records)
        options = {"filters": turn.filters, "years": list(turn.info.years), "title_query": named}
        blended = _blended(context, turn.question)
        if blended:
            self.search.prefetch(blended)  # embedded while the first search ranks its lists
        passages = self._search(expand_query(turn.question), options)
        if blended:
            # Blend in the conversation: a follow-up's topic lives in the earlier question.
            with_history = self._search(blended, options)
            passages = _interleave(passages, with_history, turn.info.followup)
        if self.settings.reranker:
            passages = by_cross_encoder(passages, turn.question, self.settings.reranker)
        ground = Grounding(self.kb, records)
        sources = sources_of(passages, turn.info, self._headers(turn.info, passages, ground))
        # Provisions citing the best articles (a penalty names the act by its article) are read
        # with them, and can be shown and cited like any retrieved passage.
        sources = with_referrals(sources, ground.citing(articles_to_follow(sources)))
        known = {p.chunk_id for p in passages}
        passages = passages + [s.passage for s in sources
                               if not s.header and s.passage.chunk_id not in known]
        # A follow-up's sentences are compared with the whole conversation's question (the
        # blended search's own vector): '那协商呢？' alone says almost nothing.
        vector = self.search.vector_of(blended or expand_query(turn.question))
        basis, facts = basis_for(self.kb.embedder.name), self._facts(records)

        def decide_over(srcs: list[Source], named: set[str]) -> Decision:
            turn.evidence = gather(turn.info, srcs, named, vector, basis)
            return decide(turn.info, turn.evidence, self.model, facts, ground.doc_text)

        first = decide_over(sources, turn.named)
        evidence = turn.evidence  # what was answered from, kept whatever the check reads
        turn.decision = disputed_by(
            turn.info, first, facts, evidence.named, lambda left_out: decide_over(
                [s for s in sources if s.doc_id != left_out], turn.named - {left_out}))
        turn.evidence = evidence
        # Shown first: the passages whose best sentence answers best (the reranker's order
        # when one is configured).
        turn.passages = (passages if self.settings.reranker
                         else _by_best_sentence(passages, turn.decision))[:ANSWER_PASSAGES]
        turn.timings["retrieve"] = _ms_since(turn, "prepare")
        return turn

    def _headers(self, q: Analysis, passages: list[Passage], ground: Grounding
                 ) -> dict[str, list[Passage]]:
        """A date or year question's laws' histories: the headers of the top documents."""
        if q.kind not in ("date", "year"):
            return {}
        docs = list(dict.fromkeys(p.doc_id for p in passages))[:_HEADER_DOCS]
        return {d: ground.headers(d) for d in docs}

    def _search(self, query: str, options: dict) -> list[Passage]:
        return [to_passage(d) for d in self.retriever.invoke(query, **options)]

    def _answer(self, turn: Turn) -> Turn:
        draft = self._extractive(turn)
        if turn.mode == "llm" and not _hard_refusal(draft):
            try:
                turn.answer = self._llm_result(turn, "".join(self._llm_deltas(turn)))
            except LLMUnavailable as exc:
                turn.answer = _with_note(draft, f"大模型暂不可用，已改用摘录回答：{exc}")
        else:
            turn.answer = draft
        turn.timings["answer"] = _ms_since(turn, "retrieve")
        return turn

    def _verify(self, turn: Turn) -> Turn:
        answer = turn.answer
        if answer.mode == "llm" and not answer.abstained:
            answer = verify_llm_answer(answer, self._extractive(turn))
        # The passages the answer rests on lead the ranked list; the rest keep their order.
        cited = {c.chunk_id for c in answer.citations}
        ranked = sorted(turn.passages, key=lambda p: p.chunk_id not in cited)
        answer.retrieved = [_passage_row(p) for p in ranked]
        answer.closest = closest_passages(answer)
        if answer.disputed:
            self.conflicts.record(turn.question, answer)
        turn.timings["verify"] = _ms_since(turn, "answer")
        turn.timings["total"] = round((time.perf_counter() - turn.started) * 1000, 2)
        answer.timings_ms = turn.timings
        turn.answer = answer
        return turn

    # ---- answering -------------------------------------------------------------------------
    def _extractive(self, turn: Turn) -> Answer:
        """One question, or each part of a two-part question answered on its own and joined."""
        if not turn.part_of and turn.split:
            labels, parts = turn.split
            return combine([self._extractive(self._part(turn, question, earlier, doc))
                            for question, earlier, doc in parts], labels)
        return self._from_decision(turn)

    def _split(self, question: str) -> tuple[list[str], list[tuple[str, list[str], str]]] | None:
        """Two questions in one, each answered on its own; or one question asked of two
        documents it names ('国旗法和国歌法分别…'), asked of each."""
        parts = split_subquestions(question)
        if len(parts) > 1:
            return parts, [(part, parts[:i], "") for i, part in enumerate(parts)]
        docs = docs_compared(question, self.kb.records())
        if len(docs) > 1:
            named = [name for _, name in docs]
            return named, [(question_about(question, name, named), [], doc) for doc, name in docs]
        return None

    def _part(self, turn: Turn, question: str, earlier: list[str], doc_id: str = "") -> Turn:
        filters = Filters([doc_id], turn.filters.years) if doc_id else turn.filters
        part = Turn(question=question, history=turn.history + earlier, filters=filters,
                    top_k=turn.top_k, mode="extractive", part_of=turn.question)
        return self._retrieve(self._prepare(part))

    def _from_decision(self, turn: Turn) -> Answer:
        """The decision as an answer: its quotes with their citations, or why there are none."""
        d = turn.decision
        if d.refused:
            return Answer(NOT_FOUND, abstained=True, verified=True, reason=d.reason.value,
                          note=render(d.reason, **dict(d.names)),
                          mode="extractive-refusal" if d.hard else "extractive",
                          support=round(d.confidence, 3))
        answer = build_citations(list(d.shown) + list(d.disputed),
                                 Grounding(self.kb, self.kb.records()))
        answer.support = round(d.confidence, 3)
        if d.disputed:
            titles = "、".join(dict.fromkeys(f"《{c.title}》" for c in answer.citations))
            answer.answer = f"{DISPUTED_LEAD}\n{answer.answer}"
            answer.disputed = True
            answer.note = (f"{titles}给出的数字不一致；以上分别摘自各自原文，请以权威文件或"
                           "工作人员核实为准。")
        return answer

    def _facts(self, records: dict) -> dict[str, DocFacts]:
        """What the checks know of each document, worked out once per records snapshot."""
        return derived(records, "facts", lambda: {d: DocFacts(
            d, r.title, r.kind, frozenset(r.years or [r.year]),
            r.year if r.kind == "law" else 0,
            frozenset(int(h["date"][:4]) for h in r.history if h.get("date")))
            for d, r in records.items()})

    def _llm_deltas(self, turn: Turn) -> Iterator[str]:
        from bot.llm import stream_llm_answer

        texts = [p.text for p in turn.passages[:turn.top_k]]
        deltas = stream_llm_answer(turn.question, turn.history, texts, self.settings)
        if turn.cancelled is None:
            return deltas
        return _until_cancelled(deltas, turn.cancelled)

    def _llm_result(self, turn: Turn, text: str) -> Answer:
        from bot.citations import llm_answer

        return llm_answer(text, turn.passages[:turn.top_k], Grounding(self.kb, self.kb.records()))


def _check_model(model: AnswerModel) -> None:
    """A model fitted on other features would score garbage (or fail mid-question): refuse it
    at start, saying how to make a matching one."""
    from bot.answering.decision import JUDGE_FEATURES
    from bot.answering.evidence import FEATURES

    parts = [("selector", model.selector, FEATURES), ("judge", model.judge, JUDGE_FEATURES)]
    parts += [(f"{name} judge", judge, JUDGE_FEATURES) for name, judge in model.judges]
    for part, scorer, want in parts:
        have = tuple(scorer.features)
        if have != want:
            missing = [f for f in want if f not in have] or [f for f in have if f not in want]
            raise AnswerError(f"the answer model's {part} reads other features than this "
                              f"version makes ({', '.join(missing[:5])}); refit it with "
                              f"`python -m evals.fit_answerer` (see its docstring) or reinstall")


def _by_best_sentence(passages: list[Passage], decision: Decision) -> list[Passage]:
    """Passages ordered by the selector's best sentence in each, blended with retrieval rank."""
    best: dict[str, int] = {}
    for i, c in enumerate(decision.ranked):
        best.setdefault(c.source.passage.chunk_id, i)
    n = max(len(decision.ranked), 1)

    def key(item: tuple[int, Passage]) -> float:
        i, p = item
        sentence = 1 - best.get(p.chunk_id, n) / n
        return (1 - _RANK_BLEND) * sentence + _RANK_BLEND / (1 + i)
    return [p for _, p in sorted(enumerate(passages), key=key, reverse=True)]


def _until_cancelled(deltas: Iterator[str], cancelled: Callable[[], bool]) -> Iterator[str]:
    """The LLM's deltas while the asker is there; once gone, its stream is closed (the server
    stops writing) and AnswerCancelled raised."""
    written = 0
    for delta in deltas:
        if cancelled():
            deltas.close()
            raise AnswerCancelled(f"the asker went away; the LLM was stopped after {written} "
                                  "characters")
        written += len(delta)
        yield delta


def _hard_refusal(answer: Answer) -> bool:
    """The evidence names another body, year, version or place: no model may answer over it."""
    return answer.abstained and answer.reason in HARD


def _with_note(answer: Answer, note: str) -> Answer:
    answer.note = f"{note}；{answer.note}" if answer.note else note
    return answer


def _blended(earlier: list[str], question: str) -> str:
    """The query of a follow-up's second search: the question it leans on, then itself."""
    return f"{earlier[-1]} {question}" if earlier else ""


def _interleave(own: list[Passage], blended: list[Passage], followup: bool) -> list[Passage]:
    first, second = (blended, own) if followup else (own, blended)
    seen, out = set(), []
    for pair in zip_longest(first, second):
        for p in pair:
            if p is not None and p.chunk_id not in seen:
                seen.add(p.chunk_id)
                out.append(p)
    return out


def _passage_row(p: Passage) -> dict:
    return {"chunk_id": p.chunk_id, "doc_id": p.doc_id, "title": p.title,
            "source": p.meta.get("source", ""), "text": p.text, "score": round(p.score, 5)}


def _ms_since(turn: Turn, step: str | None = None) -> float:
    elapsed = (time.perf_counter() - turn.started) * 1000
    before = sum(v for k, v in turn.timings.items() if k != "total")
    return round(elapsed - before, 2)


_bots: dict[int, Bot] = {}
_bots_lock = threading.Lock()


def get_bot(settings: Settings) -> Bot:
    """One Bot (models, indexes) per settings object and process."""
    with _bots_lock:
        if id(settings) not in _bots:
            _bots[id(settings)] = Bot(settings)
        return _bots[id(settings)]


def check_question_input(question: str, history: list[str], settings: Settings) -> None:
    """Refuse, before any work, a question or history no member's chat would send (the checks
    of bot/question_checks.py, which the chat renders in Chinese)."""
    problem = question_problem(question, history, settings.max_question_chars,
                               settings.max_history_turns)
    if problem is not None:
        raise QuestionError(english(problem))
