"""Splitting a one-field full name (Zendesk's `name`) into first and last name.

The rule, in order:
1. "Last, First" (a comma): the part before the first comma is the last name.
2. One word: it is the first name; the last name stays empty (with a warning).
3. Two words: first name, last name.
4. More words: the last name starts at the first lowercase surname particle after the first
   word ("Ludwig van Beethoven" -> Ludwig / van Beethoven); without one, the last word is the
   last name ("Mary Ann Smith" -> Mary Ann / Smith). Either way the split is flagged
   "ambiguous name split" so a technician confirms it on the fix-up screen.

Characters are never cleaned ("Pat O'Leary" stays O'Leary): the shared validator decides what
Active Directory accepts and says so. Only runs of whitespace are folded to one space.
"""

from __future__ import annotations

from dataclasses import dataclass

# Lowercase particles that begin a family name; capitalised ("Van") they are left to rule 4.
SURNAME_PARTICLES = frozenset({
    "van", "von", "de", "del", "della", "der", "den", "di", "da", "das", "dos", "du", "la",
    "le", "bin", "ibn", "al", "ter", "ten", "zu", "y",
})


@dataclass(frozen=True)
class NameSplit:
    """A full name read as first and last name, with a warning when the reading is a guess."""

    first: str
    last: str
    warning: str | None = None


def split_name(full_name: object) -> NameSplit:
    """Split one full-name string by the module's documented rule."""
    text = " ".join(str(full_name or "").split())
    if not text:
        return NameSplit("", "")
    if "," in text:
        last, _, first = (part.strip() for part in text.partition(","))
        if first and last:
            return NameSplit(first, last)
        text = first or last
    words = text.split(" ")
    if len(words) == 1:
        return NameSplit(words[0], "", f"only one name given ({words[0]}): it was put in the "
                                       "first name and the last name is empty")
    if len(words) == 2:
        return NameSplit(words[0], words[1])
    cut = next((i for i, w in enumerate(words[1:-1], start=1) if w in SURNAME_PARTICLES),
               len(words) - 1)
    first, last = " ".join(words[:cut]), " ".join(words[cut:])
    return NameSplit(first, last, f"ambiguous name split: '{text}' was read as first name "
                                  f"'{first}' and last name '{last}'; check it")
