"""Initial passwords that pass Active Directory's default complexity rules."""

from __future__ import annotations

import re
import secrets

# No look-alikes (I l 1 O o 0) and no quotes, slashes or spaces, so a password read aloud or
# pasted from the results file survives.
_CLASSES = ("ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789", "!#$%&*+-=?@")
_ALPHABET = "".join(_CLASSES)
# AD splits the display name into tokens on these characters; tokens under 3 chars don't count.
_TOKEN_SPLIT = re.compile(r"[,.\-_#\s]+")


def generate_password(length: int = 16, *, username: str = "", display_name: str = "") -> str:
    """A random password with all four character classes and no part of the user's names."""
    if length < 8:
        raise ValueError("an initial password needs at least 8 characters")
    forbidden = [t.lower() for t in (username, *_TOKEN_SPLIT.split(display_name)) if len(t) >= 3]
    while True:
        chars = [secrets.choice(cls) for cls in _CLASSES]
        chars += [secrets.choice(_ALPHABET) for _ in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        if not any(token in password.lower() for token in forbidden):
            return password
