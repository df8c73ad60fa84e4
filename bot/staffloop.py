"""What staff see of members' questions: the unanswered-questions queue (refusals and
thumbs-down, similar questions grouped by their embeddings), the re-asking of that queue after
every ingest, and the usage figures of the desk's usage page.

Grouping, the "closed by a new document" test and the usage figures are plain functions over
the question log's rows; `StaffLoop` wires them to the Bot (the embedder, `Bot.ask`) and the log.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from bot.questionlog import LoggedQuestion

# Two questions join one group when their e5 query vectors are at least this close. Measured
# on 800 CMRC 2018 questions (evals/question_similarity.py): questions on different articles
# reach 0.880 at the 99.9th percentile; a question and a light rewording of it (请问…呢？)
# 0.987 at the 1st; distinct questions on the same article have a median of 0.918 (p90 0.960),
# so 0.95 groups wordings of one question and close variants, not merely one topic; complete
# linkage (close to every member) keeps a group from drifting along a chain of near questions.
# e5 also puts questions that differ only in a year or figure above 0.95 ("2030年…提案" and
# "2026年…协商活动" 0.958): questions naming different numbers never share a group.
GROUP_SIMILARITY = 0.95
MAX_QUEUE_ROWS = 2000  # the newest candidates read per desk refresh
MAX_RECHECK = 100  # open groups asked again after an ingest, newest first


@dataclass(frozen=True)
class QueueItem:
    """One group of similar questions that members did not get (well) answered."""

    ids: tuple[str, ...]
    question: str  # the newest wording
    wordings: tuple[str, ...]  # every distinct wording, newest first
    count: int
    refusals: int
    downs: int
    first_at: float
    last_at: float
    reasons: tuple[str, ...]  # refusal reason codes, most frequent first
    feedback: tuple[str, ...]  # thumbs-down reason codes, most frequent first
    closest: tuple[str, ...]  # doc ids that came closest (retrieved first), most frequent first
    state: str  # open | resolved | out_of_scope
    recheck: dict = field(default_factory=dict)  # the newest re-ask, see `recheck_result`

    @property
    def key(self) -> str:
        return self.ids[0]


def is_candidate(row: LoggedQuestion) -> bool:
    return row.abstained or row.rating == "down"


def group_questions(rows: list[LoggedQuestion], vectors: dict[str, np.ndarray],
                    threshold: float = GROUP_SIMILARITY) -> list[QueueItem]:
    """Complete-linkage grouping in time order: a question joins the group every member of
    which it is at least `threshold` close to (the closest such group), so a group cannot drift
    from one question to another through a chain of near ones; the same wording always joins
    its group. Newest group first."""
    groups: list[list[LoggedQuestion]] = []
    members: list[list[np.ndarray]] = []
    numbers: list[frozenset[str]] = []
    by_text: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: r.at):
        text = _normal(row.question)
        at = by_text.get(text)
        vec = vectors.get(row.id)
        named = _numbers(row.question)
        if at is None and vec is not None:
            best, best_score = None, threshold
            for i, vecs in enumerate(members):
                if not vecs or len(vecs) < len(groups[i]):
                    continue  # a group holding a question without a vector takes only its wording
                if numbers[i] != named:
                    continue  # another year or figure asks another question, however alike
                score = float(np.min(np.stack(vecs) @ vec))
                if score >= best_score:
                    best, best_score = i, score
            at = best
        if at is None:
            groups.append([])
            members.append([])
            numbers.append(named)
            at = len(groups) - 1
        groups[at].append(row)
        if vec is not None:
            members[at].append(vec)
        by_text[text] = at
    items = [_item(g) for g in groups]
    return sorted(items, key=lambda i: i.last_at, reverse=True)


def _item(rows: list[LoggedQuestion]) -> QueueItem:
    newest = sorted(rows, key=lambda r: r.at, reverse=True)
    states = {r.state for r in rows}
    state = "open" if "open" in states else newest[0].state
    rechecks = [r.recheck for r in newest if r.recheck]
    return QueueItem(
        ids=tuple(r.id for r in newest), question=newest[0].question,
        wordings=tuple(dict.fromkeys(r.question for r in newest)), count=len(rows),
        refusals=sum(r.abstained for r in rows), downs=sum(r.rating == "down" for r in rows),
        first_at=newest[-1].at, last_at=newest[0].at,
        reasons=_ranked(r.reason for r in rows if r.abstained and r.reason),
        feedback=_ranked(r.feedback_reason for r in rows if r.feedback_reason),
        closest=_ranked(d for r in rows for d in r.closest[:2]),
        state=state, recheck=max(rechecks, key=lambda x: x.get("at", 0)) if rechecks else {})


def _ranked(values) -> tuple[str, ...]:
    return tuple(v for v, _ in Counter(values).most_common())


def _numbers(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\d+", text))


def _normal(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).lower()


def recheck_result(item: QueueItem, answer, records: dict) -> dict:
    """What asking the group's question again gave. `closed`: it is answered now from a
    document added or changed after the question was last asked — a gap the new document
    closed (a thumbs-down answer that comes back from the same documents is not closed)."""
    cited = list(dict.fromkeys(c.doc_id for c in answer.citations))
    newer = [d for d in cited if d in records and records[d].updated_at > item.last_at]
    return {"at": time.time(), "answered": not answer.abstained,
            "closed": bool(not answer.abstained and newer and answer.verified),
            "answer": answer.answer[:400], "doc_ids": cited,
            "titles": [records[d].title for d in cited if d in records],
            "new_doc_ids": newer, "reason": answer.reason}


# ---- usage ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    days: tuple[str, ...]  # YYYY-MM-DD, oldest first, every day of the window
    asked: tuple[int, ...]
    refused: tuple[int, ...]
    downs: tuple[int, ...]
    p50_ms: tuple[float, ...]
    p95_ms: tuple[float, ...]
    total: int
    refusal_rate: float
    down_rate: float  # thumbs-down per rated answer
    rated: int
    top_documents: tuple[tuple[str, int], ...]  # (doc_id, answers citing it)
    faces: tuple[tuple[str, int], ...]


def usage(rows: list[LoggedQuestion], days: int, now: float | None = None) -> Usage:
    """Per-day counts and latency percentiles over the last `days` days (local time)."""
    now = time.time() if now is None else now
    labels = [time.strftime("%Y-%m-%d", time.localtime(now - (days - 1 - i) * 86400))
              for i in range(days)]
    index = {d: i for i, d in enumerate(labels)}
    asked, refused, downs = [0] * days, [0] * days, [0] * days
    latency: list[list[float]] = [[] for _ in range(days)]
    kept = []
    for r in rows:
        i = index.get(time.strftime("%Y-%m-%d", time.localtime(r.at)))
        if i is None:
            continue
        kept.append(r)
        asked[i] += 1
        refused[i] += r.abstained
        downs[i] += r.rating == "down"
        latency[i].append(r.latency_ms)
    rated = sum(bool(r.rating) for r in kept)
    cited = Counter(d for r in kept for d in r.doc_ids)
    return Usage(
        days=tuple(labels), asked=tuple(asked), refused=tuple(refused), downs=tuple(downs),
        p50_ms=tuple(_pct(v, 50) for v in latency), p95_ms=tuple(_pct(v, 95) for v in latency),
        total=len(kept), refusal_rate=sum(refused) / len(kept) if kept else 0.0,
        down_rate=sum(downs) / rated if rated else 0.0, rated=rated,
        top_documents=tuple(cited.most_common(10)),
        faces=tuple(Counter(r.face for r in kept).most_common()))


def _pct(values: list[float], q: int) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


# ---- wiring --------------------------------------------------------------------------------
class StaffLoop:
    """The queue over one Bot's question log: vectors made once per question and kept in the
    log; re-asks after an ingest (or when the desk finds the documents changed since)."""

    def __init__(self, bot):
        self.bot = bot
        self._lock = threading.Lock()
        self.stopping = False  # a server's shutdown: a re-ask under way stops between questions

    def _vectors(self, rows: list[LoggedQuestion]) -> dict[str, np.ndarray]:
        log = self.bot.questions
        stored = {k: np.frombuffer(v, dtype=np.float32) for k, v in
                  log.vectors([r.id for r in rows]).items()}
        missing = [r for r in rows if r.id not in stored]
        if missing:
            embed = self.bot.kb.embedder.embed_query
            made = {}
            for r in missing:
                vec = np.asarray(embed(r.question), dtype=np.float32)
                made[r.id] = vec / (np.linalg.norm(vec) or 1.0)
            log.store_vectors({k: v.tobytes() for k, v in made.items()})
            stored.update(made)
        return stored

    def queue(self, states: tuple[str, ...] = ("open",)) -> list[QueueItem]:
        rows = [r for r in self.bot.questions.since(0.0)[-MAX_QUEUE_ROWS:] if is_candidate(r)]
        items = group_questions(rows, self._vectors(rows))
        return [i for i in items if i.state in states]

    def mark(self, item_key: str, state: str) -> int:
        items = {i.key: i for i in self.queue(("open", "resolved", "out_of_scope"))}
        item = items.get(item_key)
        return self.bot.questions.mark(list(item.ids), state) if item else 0

    def _fingerprint(self) -> str:
        """What the documents are now: their number and the newest change (kept in the log, so
        a restart does not re-ask the whole queue for documents it was already asked against)."""
        records = self.bot.kb.records()
        newest = max((r.updated_at for r in records.values()), default=0.0)
        return f"{len(records)}:{newest:.6f}"

    def recheck(self, force: bool = False) -> int:
        """Ask every open group's question again (not logged); keep what it gave. Runs when
        the documents changed since the last re-ask, or when forced. Returns groups asked."""
        with self._lock:
            fingerprint = self._fingerprint()
            if not force and fingerprint == self.bot.questions.meta(_RECHECKED_FOR):
                return 0
            items = self.queue()[:MAX_RECHECK]
            records = self.bot.kb.records()
            results = {}
            for item in items:
                if self.stopping:
                    return 0
                try:
                    answer = self.bot.ask(item.question)
                except Exception:  # noqa: BLE001 — one question's trouble does not stop the rest
                    continue
                result = recheck_result(item, answer, records)
                results.update({i: result for i in item.ids})
            self.bot.questions.store_rechecks(results)
            self.bot.questions.set_meta(_RECHECKED_FOR, fingerprint)
            return len(items)


_RECHECKED_FOR = "rechecked_for"
