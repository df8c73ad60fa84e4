"""The one settings object: a weak staff token is refused, at the CLI too, with the fix."""

from __future__ import annotations

import secrets

import pytest

from cppcc_kb.settings import SettingsError, load_settings, token_bits
from tests.support.warm_cli import warm_cli


@pytest.mark.parametrize("token", ["12345678", "changeme", "aaaaaaaaaaaaaaaaaaaa",
                                   "passwordpassword", "abc123"])
def test_weak_staff_tokens_are_refused_with_the_fix(token):
    with pytest.raises(SettingsError) as info:
        load_settings(staff_token=token)
    assert "too weak" in str(info.value) and "secrets.token_urlsafe" in str(info.value)


def test_a_random_token_is_accepted_and_counted_strong():
    token = secrets.token_urlsafe()
    assert load_settings(staff_token=token).staff_token.get_secret_value() == token
    assert token_bits(token) > 150 and token_bits("12345678") < 30


def test_serve_refuses_a_weak_token_before_starting(tmp_path):
    run = warm_cli().run(["--data", tmp_path / "kb", "serve", "--port", "9"],
                         env={"CPPCC_KB_STAFF_TOKEN": "12345678"})
    assert run.code == 1 and "CPPCC_KB_STAFF_TOKEN is too weak" in run.stderr
    assert "Traceback" not in run.stderr
