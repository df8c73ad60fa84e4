"""A one-time build step says what it builds, then how long it took or that it failed."""

from __future__ import annotations

import logging

import pytest

from ingest.build_steps import build_step


def test_a_step_is_announced_and_timed(caplog):
    caplog.set_level(logging.INFO, logger="cppcc_kb.build")
    with build_step("building a thing"):
        pass
    assert [r.getMessage() for r in caplog.records][0] == "building a thing …"
    assert caplog.records[1].getMessage().startswith("building a thing: done in ")


def test_a_failed_step_says_so_and_the_error_goes_on(caplog):
    caplog.set_level(logging.INFO, logger="cppcc_kb.build")
    with pytest.raises(OSError, match="disk full"):
        with build_step("building a thing"):
            raise OSError("disk full")
    assert caplog.records[-1].getMessage().startswith("building a thing: failed after ")
