"""The nickname rules (docs/API.md "Players"), pure: Unicode data from maintained packages, no Django.

Each refusal names its rule. Look-alikes come from `confusable_homoglyphs` (Unicode's confusables
and scripts tables), invisible characters from the Unicode properties in `regex`; nothing is a
hand-made list of characters.
"""

import re
import unicodedata
from collections.abc import Iterable

import regex
from confusable_homoglyphs import categories, confusables

MAX_LENGTH = 32
RESERVED_PREFIX = "anonymous"  # how players without a nickname are shown (game.models.anonymous_name)
ALLOWED = re.compile(r"^[\w .\-]+$")
# Default_Ignorable_Code_Point holds the zero-width characters, joiners, bidi controls, variation
# selectors and fillers such as U+3164; Cf/Cc/Co/Cn are format, control, private and unassigned.
INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Cc}\p{Co}\p{Cn}\p{Zl}\p{Zp}]")
# Scripts that may share a name (UTS #39 "highly restrictive"): Japanese, Chinese and Korean
# writing mixes them, each possibly with Latin.
SCRIPT_SETS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
NEUTRAL_SCRIPTS = {"COMMON", "INHERITED"}


class NicknameRefused(ValueError):
    """A nickname broke a rule; the message says which."""


def _character(char: str) -> str:
    return " ".join(f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})" for c in char)


def _scripts(text: str) -> set[str]:
    return {categories.alias(char) for char in text} - NEUTRAL_SCRIPTS


def _cross_script_lookalike(text: str, scripts: set[str]) -> tuple[str, str] | None:
    """A character of `text` that looks like a letter of another of its scripts, with that letter
    (the odd one out first: a letter of the rarer script that mimics the main one)."""
    counts = {script: sum(categories.alias(char) == script for char in text) for script in scripts}
    for script in sorted(scripts, key=lambda s: (-counts[s], s)):
        for entry in confusables.is_confusable(text, greedy=True, preferred_aliases=[script.lower()]) or []:
            for glyph in entry["homoglyphs"]:
                if all(categories.alias(char) == script for char in glyph["c"]):
                    return entry["character"], glyph["c"]
    return None


def latin_skeleton(text: str) -> str:
    """`text` with each character that looks like a Latin one replaced by it, case-folded: what a
    reader sees, for the reserved prefix and the blocklist."""
    found = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin"]) or []
    latin = {}
    for entry in found:
        glyphs = [glyph["c"] for glyph in entry["homoglyphs"] if glyph["n"].startswith("LATIN")]
        if glyphs:
            latin[entry["character"]] = glyphs[0]
    return "".join(latin.get(char, char) for char in text).casefold()


def nickname_check(raw: object, blocklist: Iterable[str] = ()) -> str:
    """The nickname as it will be stored (NFKC, stripped), or NicknameRefused naming the rule."""
    if not isinstance(raw, str):
        raise NicknameRefused("nickname: expected a string")
    hidden = INVISIBLE.search(raw)
    if hidden:
        raise NicknameRefused(f"nickname: invisible or formatting character {_character(hidden.group())} not allowed")
    nickname = unicodedata.normalize("NFKC", raw).strip()
    if not nickname:
        raise NicknameRefused("nickname: may not be empty")
    if len(nickname) > MAX_LENGTH:
        raise NicknameRefused(f"nickname: at most {MAX_LENGTH} characters")
    hidden = INVISIBLE.search(nickname)
    if hidden:
        raise NicknameRefused(f"nickname: invisible or formatting character {_character(hidden.group())} not allowed")
    if not ALLOWED.match(nickname):
        raise NicknameRefused("nickname: letters, digits, spaces, '.', '_' and '-' only")
    scripts = _scripts(nickname)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in SCRIPT_SETS):
        lookalike = _cross_script_lookalike(nickname, scripts)
        if lookalike is not None:
            char, other = lookalike
            raise NicknameRefused(
                f"nickname: mixes scripts ({', '.join(sorted(s.title() for s in scripts))}) with look-alike "
                f"letters: {_character(char)} looks like {_character(other)}"
            )
    skeleton = latin_skeleton(nickname)
    if skeleton.startswith(RESERVED_PREFIX):
        raise NicknameRefused(f"nickname: may not start with '{RESERVED_PREFIX}' (kept for players without one)")
    for word in blocklist:
        if word.casefold() in skeleton:
            raise NicknameRefused(f"nickname: may not contain '{word}'")
    return nickname
