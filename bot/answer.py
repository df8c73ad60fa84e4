"""What the bot returns: an answer, its numbered citations, and how it was verified."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bot.answering.reasons import DOUBT

NOT_FOUND = "知识库中没有找到相关内容。"
CLOSEST_SHOWN = 3  # passages listed beside a refusal for doubt (`closest_passages`)


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    source: str
    quote: str  # the exact sentence(s) used, verbatim from the document
    start: int  # offsets of the quote in the document's normalised text
    end: int
    score: float
    chunk_id: str = ""
    passage: str = ""  # the whole passage, for display around the quote
    passage_start: int = 0
    heading: str = ""
    date: str = ""


@dataclass
class Answer:
    answer: str
    abstained: bool
    verified: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    unverified_figures: list[str] = field(default_factory=list)
    note: str = ""  # for people: why it abstained, or what was changed (Chinese)
    reason: str = ""  # why it abstained, as a code (bot.answering.reasons.Reason)
    support: float = 0.0  # share of the question's key words found in the evidence (0-1)
    # Sources that answer alike disagree on the figure: all are shown, none stands as the fact.
    disputed: bool = False
    retrieved: list[dict] = field(default_factory=list)  # ranked passages: chunk_id, doc_id, ...
    # Refused for doubt alone (`closest_passages`): the passages that came closest, for the
    # member to check. Not an answer and not cited; empty for any other answer or refusal.
    closest: list[dict] = field(default_factory=list)
    log_id: str = ""  # the question log's row, for feedback (empty when not logged)

    def to_dict(self, with_retrieved: bool = False) -> dict:
        data = asdict(self)
        if not with_retrieved:
            data.pop("retrieved")
        return data


def closest_passages(answer: Answer, most: int = CLOSEST_SHOWN) -> list[dict]:
    """The passages to list, best first, beside a refusal for doubt (`DOUBT`: the judge was not
    sure enough, or no sentence within reach states the figure asked): nothing in them
    contradicts the question and the answer may well be there
    (refusing a question the documents answer is a failure too), so the member is shown where
    to look instead of being told the knowledge base holds nothing. Any other refusal (a
    contradiction, nothing retrieved) and any answer list none."""
    if not (answer.abstained and answer.reason in DOUBT):
        return []
    return list(answer.retrieved[:most])
