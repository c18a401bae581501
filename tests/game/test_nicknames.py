"""Nickname rules over the API: look-alike, invisible and reserved names get 400 naming the rule."""

import pytest

from game.models import Player


@pytest.mark.parametrize(
    "nickname, rule",
    [
        ("\u0430dmin", "mixes scripts (Cyrillic, Latin) with look-alike letters: U+0430 (CYRILLIC SMALL LETTER A)"),
        ("p\u0430ypal", "look-alike letters: U+0430 (CYRILLIC SMALL LETTER A) looks like U+0061"),
        ("M\u03b1rk", "mixes scripts (Greek, Latin) with look-alike letters: U+03B1 (GREEK SMALL LETTER ALPHA)"),
        ("\u3164", "invisible or formatting character U+3164 (HANGUL FILLER)"),
        ("ada\u3164", "invisible or formatting character U+3164 (HANGUL FILLER)"),
        ("ad\u200ba", "invisible or formatting character U+200B (ZERO WIDTH SPACE)"),
        ("ada\u200d", "invisible or formatting character U+200D (ZERO WIDTH JOINER)"),
        ("\u202eada", "invisible or formatting character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("ada\ufe0f", "invisible or formatting character U+FE0F (VARIATION SELECTOR-16)"),
        ("anonymous 1a2b3c4d", "may not start with 'anonymous'"),
        ("Anonymous", "may not start with 'anonymous'"),
        ("\uff21\uff2e\uff2f\uff2e\uff39\uff2d\uff2f\uff35\uff33 fan", "may not start with 'anonymous'"),  # full-width
        ("the admin", "may not contain 'admin'"),
        # Look-alikes within one script, by the confusables skeleton (issue 20).
        ("\u0251dmin", "may not contain 'admin'"),  # U+0251 LATIN SMALL LETTER ALPHA
        ("ADMlN", "may not contain 'admin'"),  # a lower-case L for the capital I
        ("\u0251nonymous 1a2b3c4d", "may not start with 'anonymous'"),
        ("st\u0251ff", "may not contain 'staff'"),
        # The site's generated anonymous names behind punctuation or split up (game.models.anonymous_name).
        ("_anonymous 1234abcd", "may not start with 'anonymous'"),
        (". anonymous 1234abcd", "may not start with 'anonymous'"),
        ("anon-ymous 1234abcd", "may not start with 'anonymous'"),
        (
            "\uff3f\uff41\uff4e\uff4f\uff4e\uff59\uff4d\uff4f\uff55\uff53\u3000\uff11\uff12\uff13\uff14",
            "may not start with 'anonymous'",
        ),  # full-width
        ("_\u0430nonymous 1234abcd", "mixes scripts (Cyrillic, Latin) with look-alike letters"),  # mixed-script
        ("\u0251dm\u0456n", "mixes scripts (Cyrillic, Latin) with look-alike letters"),  # mixed-script
        ("\uff33taff", "may not contain 'staff'"),  # full-width S, folded by NFKC
        ("a&b", "letters, digits, spaces"),
        ("x" * 33, "at most 32 characters"),
        ("   ", "may not be empty"),
    ],
)
def test_a_refused_nickname_gets_400_naming_its_rule_and_keeps_the_old_one(player_client, nickname, rule):
    assert player_client.patch("/api/game/me/", {"nickname": "kept"}).status_code == 200
    response = player_client.patch("/api/game/me/", {"nickname": nickname})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_nickname" and rule in body["detail"], body
    assert player_client.get("/api/game/me/").json()["nickname"] == "kept"


@pytest.mark.parametrize(
    "nickname",
    [
        "Ada L.",
        "José",
        "Zoë_99",
        "Иван",
        "ΑΝΝΑ",
        "李小龍",
        "ゆうき太郎",
        "Anna李",
        "김민수",
        "anon",
        "x1l",
        "anon 1234abcd",
        "Anya_5",
    ],
)
def test_names_in_one_script_or_a_usual_mix_are_accepted(player_client, nickname):
    response = player_client.patch("/api/game/me/", {"nickname": nickname})
    assert response.status_code == 200, response.json()
    assert response.json()["nickname"] == nickname


def test_a_refused_nickname_creates_no_player(make_player):
    visitor = make_player()
    response = visitor.patch("/api/game/me/", {"nickname": "\u0430dmin"})
    assert response.status_code == 400
    assert Player.objects.count() == 0
