"""The root of every error meant for a person; each layer subclasses it in its own errors.py."""


class KBError(Exception):
    """An error whose message says what went wrong and what to do; shown without a traceback."""
