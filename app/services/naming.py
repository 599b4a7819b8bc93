"""Usernames from the deployment's naming policy: first.last, flast, firstl, cut to 20 characters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from app.services.user_schema import FIELDS_BY_NAME

NAMING_POLICIES: dict[str, str] = {
    "first.last": "first.last (pat.oleary)",
    "flast": "flast (poleary)",
    "firstl": "firstl (pato)",
    "first": "first (pat)",
    "last.first": "last.first (oleary.pat)",
}
DEFAULT_POLICY = "first.last"
MAX_USERNAME = FIELDS_BY_NAME["username"].max_length

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=65536)  # names repeat across a file: a 100,000-row import folds each once
def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Zoë O'Leary-Núñez' becomes 'zoeolearynunez'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALNUM.sub("", stripped.casefold().replace("ß", "ss"))


def base_username(first_name: str, last_name: str, policy: str = DEFAULT_POLICY) -> str:
    """The username the policy gives before collisions are resolved; '' when names are missing."""
    first, last = ascii_fold(first_name), ascii_fold(last_name)
    if not first and not last:
        return ""
    shapes = {
        "first.last": f"{first}.{last}".strip("."),
        "flast": f"{first[:1]}{last}",
        "firstl": f"{first}{last[:1]}",
        "first": first or last,
        "last.first": f"{last}.{first}".strip("."),
    }
    name = shapes.get(policy, shapes[DEFAULT_POLICY])
    return name[:MAX_USERNAME].rstrip(".")


def derive_username(
    first_name: str,
    last_name: str,
    policy: str = DEFAULT_POLICY,
    is_taken: Callable[[str], bool] = lambda name: False,
) -> str:
    """A free username from the policy, numbered on collision (pat.oleary, pat.oleary2, ...)."""
    base = base_username(first_name, last_name, policy)
    if not base:
        return ""
    if not is_taken(base):
        return base
    for number in range(2, 10_000):
        suffix = str(number)
        candidate = base[: MAX_USERNAME - len(suffix)].rstrip(".") + suffix
        if not is_taken(candidate):
            return candidate
    raise ValueError(f"no free username for {base!r}")
