"""Signing in to a real deployment from the deployed tests (tests/cloud.py): what Cognito answers
instead of tokens for an account an administrator has just created becomes a failure that says what
to do, not a KeyError."""

from __future__ import annotations

import pytest

from tests.cloud import authentication_result


def test_tokens_are_taken_from_the_authentication_result() -> None:
    answer = {"AuthenticationResult": {"AccessToken": "a", "IdToken": "i"}, "ChallengeParameters": {}}
    assert authentication_result(answer, "operator", "ana@example.com") == {
        "AccessToken": "a",
        "IdToken": "i",
    }


@pytest.mark.parametrize("challenge", ["NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA", "MFA_SETUP"])
def test_a_challenge_fails_naming_it_and_the_fix(challenge: str) -> None:
    # admin-create-user leaves the account in FORCE_CHANGE_PASSWORD: InitiateAuth then answers
    # NEW_PASSWORD_REQUIRED with a session, no tokens (AdminSetUserPassword, Cognito API Reference).
    answer = {"ChallengeName": challenge, "Session": "s", "ChallengeParameters": {}}
    with pytest.raises(pytest.fail.Exception) as failed:
        authentication_result(answer, "viewer", "vi@example.com")
    assert challenge in str(failed.value)
    assert "admin-set-user-password" in str(failed.value) and "vi@example.com" in str(failed.value)
