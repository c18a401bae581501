"""The nickname rules (docs/API.md "Players"), pure: Unicode data from maintained packages, no Django.

Each refusal names its rule. Look-alikes come from `confusable_homoglyphs` (Unicode's confusables
and scripts tables; reserved words are compared by skeleton), invisible characters from the Unicode properties in `regex`; nothing is a
hand-made list of characters.
"""

import functools
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


BIDI_MARKS = str.maketrans("", "", "\u200e\u200f")  # the table wraps right-to-left letters in them
SEPARATORS = re.compile(r"[\s._\-]")


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each character of the confusables table -> one representative of its class of look-alike single
    characters (Unicode TR39's confusables, as `confusable_homoglyphs` ships them): an ASCII letter
    where the class has one, so 'ɑ' -> 'a' and 'I', '1', '|' -> 'l' as in TR39's skeleton."""
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        while parent.setdefault(char, char) != char:
            char = parent[char]
        return char

    for source, glyphs in confusables.confusables_data.items():
        source = source.translate(BIDI_MARKS)
        for glyph in glyphs:
            target = glyph["c"].translate(BIDI_MARKS)
            if len(source) == len(target) == 1:
                parent[root(source)] = root(target)
    members: dict[str, list[str]] = {}
    for char in parent:
        members.setdefault(root(char), []).append(char)

    def preference(char: str) -> tuple[bool, bool, bool, bool, str]:
        return (not char.isascii(), not char.islower(), not char.isupper(), not char.isalnum(), char)

    return {char: min(group, key=preference) for group in members.values() for char in group}


def skeleton(text: str) -> str:
    """`text` with each character replaced by its class's representative: two strings that look alike
    have the same skeleton (UTS #39 section 4, single characters only)."""
    prototypes = _prototypes()
    return "".join(prototypes.get(char, char) for char in text)


def _looks(text: str) -> set[str]:
    """The case-folded skeletons of `text` as typed, lower-cased and upper-cased: 'ADMlN' reads as 'ADMIN'."""
    return {skeleton(form).casefold() for form in (text, text.casefold(), text.upper())}


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
    looks = _looks(nickname)
    # The generated names ("anonymous 1a2b3c4d", game.models.anonymous_name) behind punctuation or split up.
    if any(SEPARATORS.sub("", look).startswith(reserved) for look in looks for reserved in _looks(RESERVED_PREFIX)):
        raise NicknameRefused(f"nickname: may not start with '{RESERVED_PREFIX}' (kept for players without one)")
    for word in blocklist:
        if any(reserved in look for look in looks for reserved in _looks(word)):
            raise NicknameRefused(f"nickname: may not contain '{word}'")
    return nickname
