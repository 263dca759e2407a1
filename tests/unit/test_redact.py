from nbaverify.redact import MASK, Redactor


def test_masks_whole_dsns_and_their_passwords_alone():
    redact = Redactor(["postgresql://mon:Pa%24sw0rd@db:5432/nba", "jwt-secret-value"])
    assert redact("dsn postgresql://mon:Pa%24sw0rd@db:5432/nba") == f"dsn {MASK}"
    assert redact("password Pa$sw0rd leaked") == f"password {MASK} leaked"
    assert redact("key=jwt-secret-value") == f"key={MASK}"


def test_keyword_dsns_and_short_values():
    redact = Redactor(["host=db password='hunter22' user=x", "ab"])
    assert redact("auth hunter22") == f"auth {MASK}"
    assert redact("ab stays") == "ab stays"  # too short to mask without wrecking the text
