"""Errors of the answering layer: each says what went wrong and what to do."""

from __future__ import annotations

from cppcc_kb.errors import KBError


class AnswerError(KBError):
    """A question could not be answered as asked."""


class LLMUnavailable(AnswerError):
    """The configured LLM endpoint gave no usable answer; the chain falls back to extraction."""


class QuestionError(AnswerError):
    """The question or its options are malformed (empty, too long, unknown filter)."""


class AnswerCancelled(AnswerError):
    """The asker went away before the answer was ready; the work for it was stopped."""
