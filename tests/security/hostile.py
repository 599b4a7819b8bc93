"""The hostile values the security tests push through every way in, with what the rules say of each.

Each value is tried as a name (letters of any script, spaces, hyphens), a username (sAMAccountName: up to
20 characters, none of " / \\ [ ] : ; | = , + * ? < > @, no spaces, no trailing dot) and free text (any
printable characters). An expectation is "stored" (trimmed, NFC) or the validator's refusal code.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBE = "/xss-probe"  # any request to this path means a hostile value was run by the browser


@dataclass(frozen=True)
class Hostile:
    """One hostile value and the verdict of the rules for each kind of field."""

    label: str
    value: str
    name: str
    username: str
    text: str

    @property
    def stored(self) -> str:
        """The value as stored when accepted (trimmed)."""
        return self.value.strip()


STORED = "stored"

HOSTILE: tuple[Hostile, ...] = (
    Hostile("html", "<img src=x onerror=alert(1)>", "special_characters", "invalid_username", STORED),
    Hostile("htmx element", f'<div hx-get="{PROBE}" hx-trigger="load">x</div>', "special_characters",
            "invalid_username", STORED),
    Hostile("htmx attribute breakout", f'" hx-get="{PROBE}" hx-trigger="load" x="', "special_characters",
            "invalid_username", STORED),
    Hostile("script", f"<script>fetch('{PROBE}');alert(1)</script>", "special_characters", "invalid_username",
            STORED),
    Hostile("template syntax", "{{ 7*7 }}{% if 1 %}x{% endif %}", "special_characters", "invalid_username",
            STORED),
    Hostile("CR/LF header injection", "Sales\r\nSet-Cookie: pwned=1", "control_characters",
            "control_characters", "control_characters"),
    Hostile("LDAP filter", "*)(uid=*))(|(uid=*", "special_characters", "invalid_username", STORED),
    Hostile("DN metacharacters", "Smith, Jr+Admin;x", "special_characters", "invalid_username", STORED),
    Hostile("leading hash", "#Sales", "special_characters", STORED, STORED),
    Hostile("leading and trailing spaces", "  Padded Name  ", STORED, "invalid_username", STORED),
    Hostile("formula =", '=HYPERLINK("http://evil.example","x")', "special_characters", "invalid_username",
            STORED),
    Hostile("formula +", "+cmd|' /C calc'!A0", "special_characters", "invalid_username", STORED),
    Hostile("formula -", "-2+3+cmd", "special_characters", "invalid_username", STORED),
    Hostile("formula - alone", "-cmd", "special_characters", STORED, STORED),
    Hostile("formula @", "@SUM(1+1)*cmd", "special_characters", "invalid_username", STORED),
    Hostile("100k characters", "L" * 100_000, "too_long", "too_long", "too_long"),
    Hostile("emoji", "Ann😀", "special_characters", STORED, STORED),
    Hostile("combining marks", "Zalgo\u0336\u0336", "special_characters", STORED, STORED),
    Hostile("international name", "Zoë Ångström-Ñúñez", STORED, "invalid_username", STORED),
    Hostile("NUL", "A\x00B", "control_characters", "control_characters", "control_characters"),
    Hostile("vertical tab", "A\x0bB", "control_characters", "control_characters", "control_characters"),
    # An RTL override makes 'Ann\u202egnp.exe' read as 'Annexe.png'; 'adm\u200bin' looks exactly like 'admin';
    # U+0085 is a line break for some CSV and LDIF readers: refused as invisible control characters.
    Hostile("RTL override", "Ann\u202egnp.exe", "control_characters", "control_characters", "control_characters"),
    Hostile("zero-width space", "adm\u200bin", "control_characters", "control_characters", "control_characters"),
    Hostile("C1 next line", "A\x85B", "control_characters", "control_characters", "control_characters"),
)


def codes_for(kind: str) -> dict[str, str]:
    """label -> expectation for one kind of field (name, username or text)."""
    return {h.label: getattr(h, kind) for h in HOSTILE}
