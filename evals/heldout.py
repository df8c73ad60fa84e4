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


def law_subset(laws: list[PurePath], named: set[str], others: int) -> list[PurePath]:
    """The laws a question set is about (`named`: file names) and `others` more, the first by
    sha256 of the file name: a knowledge base of laws small enough to fit on, large enough that
    a law left out has neighbours that look like it."""
    about = [p for p in laws if p.name in named]
    rest = sorted((p for p in laws if p.name not in named),
                  key=lambda p: hashlib.sha256(p.name.encode()).hexdigest())
    return about + rest[:others]


def main(argv: list[str] | None = None) -> int:
    """python -m evals.heldout LAWS_DIR SET.jsonl [OTHERS]: the files of the law subset, one per
    line (for `cppcc-kb ingest`)."""
    import sys
    from pathlib import Path

    from evals.sets import load_set

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print(main.__doc__, file=sys.stderr)
        return 2
    questions, _ = load_set(Path(args[1]))
    named = {PurePath(s).name for q in questions for s in q.sources}
    for p in law_subset(sorted(Path(args[0]).rglob("*.md")), named,
                        int(args[2]) if len(args) == 3 else 150):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
