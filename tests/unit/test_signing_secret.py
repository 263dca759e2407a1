"""The signing secret's offline judgement: what it finds, and that no finding carries the secret."""

from __future__ import annotations

import secrets

import pytest

from nbaverify.probes import signing_secret

LISTED = len(signing_secret.known_secrets().secrets)


def findings(secret: str) -> list[str]:
    return signing_secret.judge(secret).findings(32, 100, LISTED)


def test_a_random_secret_of_32_bytes_or_more_is_strong():
    assert findings(secrets.token_urlsafe(32)) == []
    assert findings(secrets.token_hex(32)) == []


@pytest.mark.parametrize(
    ("secret", "found"),
    [
        ("q7Rv2XmP9sLw", ["12 bytes long", "2^40 tries"]),
        ("your-256-bit-secret", ["a well-known secret", "19 bytes long"]),
        ("Secret", ["a well-known secret"]),  # the list is matched whatever the case
        ("a" * 40, ["built of repeat patterns"]),
        ("correcthorsebatterystaplecorrecthorse", ["built of dictionary patterns"]),
    ],
)
def test_each_shortcoming_is_named_and_the_secret_never(secret, found):
    said = "; ".join(findings(secret))
    assert all(phrase in said for phrase in found), said
    assert secret not in said and secret[:6] not in said


def test_the_list_is_the_scripts_and_holds_thousands():
    known = signing_secret.known_secrets()
    assert len(known.secrets) > 3000 and known.generated
    assert {"your-256-bit-secret", "shhhhh", "keyboard cat", "123456"} <= known.secrets
