"""The write API's tokens file and Authorization header, under random input: a broken file is a TokenFileError
naming FILE:LINE (never a crash, never a token let in), and no guessed token verifies."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.lifecycle.tokens import TokenFile, TokenFileError, hash_token


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    path = tmp_path_factory.mktemp("tokens") / "tokens"
    tokens = TokenFile(str(path))
    return tokens, tokens.add("ops")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_file_of_tokens_or_a_located_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("t") / "tokens"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        names = TokenFile(str(path)).load()
    except TokenFileError as exc:
        assert str(exc).startswith(str(path))
    else:
        for name, digest in names.items():
            assert f"{name} sha256:{digest}" in " ".join(text.split())


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400))
def test_no_guess_verifies(issued, guess):
    tokens, token = issued
    assert tokens.verify(guess) is None or guess == token


def test_the_issued_token_verifies_and_its_hash_does_not(issued):
    tokens, token = issued
    assert tokens.verify(token) == "ops"
    assert tokens.verify(hash_token(token)) is None  # a leaked file gives no usable token
    assert tokens.verify(token + "\n") is None and tokens.verify(" " + token) is None
