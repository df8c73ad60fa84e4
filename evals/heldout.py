"""Held-out evaluation by document: folds, and unanswerable questions made by leaving documents out.

Questions on one document share its wording, so a split by question leaks; every split here is
by document. A document's fold and whether it is left out of the knowledge base follow from a
hash of its file name alone, so anyone gets the same folds from the same files:

    fold_of(name, k)  -> 0..k-1           which fold the document belongs to
    left_out(name)    -> bool             in its fold's test, is the document left out of the KB
                                          (its questions are then unanswerable)?

`held_out_set` turns a question set into one fold's test: questions on that fold's documents,
those on left-out documents with their answers removed, plus the names to hide from the KB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import PurePath

from evals.sets import Question

FOLDS = 5
LEFT_OUT_SHARE = 4  # one document in this many is left out of the knowledge base in its test


def _hash(name: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{PurePath(name).name}".encode()).hexdigest()[:12], 16)


def fold_of(name: str, k: int = FOLDS) -> int:
    return _hash(name, "fold") % k


def left_out(name: str) -> bool:
    return _hash(name, "absent") % LEFT_OUT_SHARE == 0


@dataclass(frozen=True)
class HeldOut:
    fold: int
    questions: tuple[Question, ...]
    hidden: frozenset[str]  # file names to leave out of the knowledge base


def question_fold(q: Question, k: int = FOLDS) -> int | None:
    """The fold of a question: that of its documents, None when they fall in different folds
    (such a question belongs to no fold's test) or it names none."""
    folds = {fold_of(s, k) for s in q.sources}
    return folds.pop() if len(folds) == 1 else None


def held_out_set(questions: list[Question], fold: int, k: int = FOLDS,
                 leave_out: bool = True) -> HeldOut:
    """The test of one fold. A question whose documents are all left out becomes unanswerable;
    one whose documents are partly left out is dropped (half an answer is neither)."""
    chosen, hidden = [], set()
    for q in questions:
        if question_fold(q, k) != fold:
            continue
        gone = [s for s in q.sources if leave_out and left_out(s)]
        if not gone:
            chosen.append(q)
        elif len(gone) == len(q.sources):
            hidden.update(PurePath(s).name for s in gone)
            chosen.append(replace(q, answers=[], type="unanswerable", sources=[]))
    return HeldOut(fold, tuple(chosen), frozenset(hidden))


def doc_ids_named(records: dict, names: set[str] | frozenset[str]) -> set[str]:
    """The ids of the documents whose source file has one of these names."""
    return {d for d, r in records.items() if PurePath(r.source).name in names}
