"""Answering in three stages: analysis (what is asked) -> evidence (candidate sentences and
their features) -> decision (pick, combine or refuse, with a reason code)."""
