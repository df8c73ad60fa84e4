"""Errors of the evaluation layer."""

from cppcc_kb.errors import KBError


class EvalError(KBError):
    """A question set or a report cannot be used as given."""
