"""What a fetch from ConnectWise or Zendesk hands back, and how its outcomes are worded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

CONNECTWISE = "connectwise"
ZENDESK = "zendesk"
PROVIDERS = (CONNECTWISE, ZENDESK)

# on_progress(records seen so far, total when the service tells it, else None)
OnProgress = Callable[[int, "int | None"], None]

_WORDS = {
    CONNECTWISE: ("ConnectWise", "company", "contacts",
                  "Enlist imports from the Contacts of the company"),
    ZENDESK: ("Zendesk", "organization", "users",
              "Enlist imports the end users of the organization"),
}


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of a 'Test connection' button, in plain words."""

    ok: bool
    message: str
    kind: str | None = None  # the IntegrationError kind when not ok


@dataclass(frozen=True)
class SkippedRecord:
    """A person the fetch saw and left out, with why."""

    source_key: str
    name: str
    reason: str  # "inactive", "agent", "admin", "suspended"


@dataclass
class FetchResult:
    """The people of one company or organization, ready for mapping, and those left out."""

    provider: str
    account_id: int
    account_name: str
    records: list[dict] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    pages: int = 0

    @property
    def is_empty(self) -> bool:
        """True when nobody at all was found (not even skipped people)."""
        return not self.records and not self.skipped

    @property
    def total_seen(self) -> int:
        """Every person the service returned, kept or skipped."""
        return len(self.records) + len(self.skipped)

    @property
    def skipped_counts(self) -> dict[str, int]:
        """How many people were skipped, per reason."""
        return dict(Counter(s.reason for s in self.skipped))

    def skipped_names(self, reason: str) -> list[str]:
        """The names of the people skipped for one reason, in the service's order."""
        return [s.name for s in self.skipped if s.reason == reason]

    def summary(self) -> str:
        """One line for a job's progress or a flash message."""
        if self.is_empty:
            return empty_message(self.provider, self.account_name, self.account_id)
        noun = _WORDS[self.provider][2]
        noun = noun[:-1] if len(self.records) == 1 else noun
        text = f"Found {len(self.records):,} {noun} in {self.account_name}"
        if self.skipped:
            parts = [_count(n, reason) for reason, n in sorted(self.skipped_counts.items())]
            text += f"; skipped {', '.join(parts)}"
        return text + "."


def _count(n: int, reason: str) -> str:
    """"3 agents", "1 admin", "4 inactive": the role nouns take a plural, adjectives do not."""
    plural = n != 1 and reason in ("agent", "admin")
    return f"{n:,} {reason}{'s' if plural else ''}"


def source_key(provider: str, kind: str, record_id: object) -> str:
    """The stable id of a record at its source, e.g. "connectwise:contact:123"."""
    return f"{provider}:{kind}:{record_id}"


def empty_message(provider: str, company_name: str, company_id: int | str) -> str:
    """The sentence shown when a company or organization has nobody to import."""
    service, account, people, where = _WORDS[provider]
    return (f"The {service} {account} {company_name} (id {company_id}) has no {people}: "
            f"{where}")
