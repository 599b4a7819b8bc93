"""Network discovery: read the person accounts of a client's existing domain into the Catalog.

A run reads the domain over LDAPS with a read-only account, in pages of 500. The first run (and any
run after the DC, the search base or the skip rules changed) is full. Later runs are incremental:

- the watermark is the DC's highestCommittedUSN read when the previous run began (not the highest
  uSNChanged it saw: a change committing during a run may carry a lower USN than one already read);
  only accounts with uSNChanged above it are read with their details, so an unchanged domain costs
  one empty search;
- deletions leave no trace a plain search can find, and a move out of the search base leaves none
  under it, so each incremental run also lists the keys (objectGUID only, which is cheap) of every
  person under the base. Catalog entries whose account is gone, or now skipped (disabled, say),
  are marked missing; the others are marked seen. Reading the Deleted Objects container would need
  rights a read-only account lacks, and would still miss the moves.

USNs are per domain controller, so the watermark is kept with the DC's invocationId.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from ldap3.core.exceptions import LDAPException

from app.agent.enlist_agent import _routable as routable_upn
from app.agent.enlist_agent import split_full_name
from app.extensions import db
from app.models import CatalogEntry, Deployment, DiscoveryRun, NetworkSource
from app.models._base import utcnow
from app.services import discovery, secrets
from app.services.directory import DirectoryError, DirectorySettings, connect
from app.services.directory.attributes import ACCOUNTDISABLE, NORMAL_ACCOUNT
from app.services.directory.errors import error_from_exception, error_from_result
from app.services.user_schema import AD_ATTRIBUTES

PAGE_SIZE = 500
PAGED_CONTROL = "1.2.840.113556.1.4.319"
# Every user object, computers too, so the skipped ones are counted; the key listing needs persons only.
ACCOUNTS = "(objectClass=user)"
PERSONS = "(&(objectCategory=person)(objectClass=user))"
READ = sorted({*AD_ATTRIBUTES.values(), "objectGUID", "objectSid", "objectClass", "userAccountControl",
               "servicePrincipalName", "isCriticalSystemObject", "displayName", "userPrincipalName", "uSNChanged"})
# The skip rules in the order they apply: an account is counted under the first that matches.
RULES = {
    "computer": "Computer, domain controller and trust accounts (always skipped)",
    "builtin": "Built-in accounts: Administrator, Guest, krbtgt and other critical system objects",
    "service": "Service accounts: a service principal name, or a name matching the patterns below",
    "disabled": "Disabled accounts",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Attributes = dict[str, list[bytes]]
Report = Callable[[DiscoveryRun], None]


# --- reading one account ------------------------------------------------------------------------

def _text(attrs: Attributes, name: str) -> str:
    """The first value of an attribute as text ('' when absent)."""
    values = attrs.get(name.lower())
    return values[0].decode("utf-8", "replace") if values else ""


def _clean(value: str) -> str:
    """A value with control characters turned into spaces, trimmed (as the agent does)."""
    return _CONTROL.sub(" ", value).strip()


def account_key(attrs: Attributes) -> str:
    """The account's objectGUID in its usual text form: the catalog's source key."""
    return str(uuid.UUID(bytes_le=attrs["objectguid"][0]))


@dataclass(frozen=True)
class SkipRules:
    """Which skip rules apply (computers always do), read once from the source's settings."""

    builtin: bool = True
    service: bool = True
    disabled: bool = True
    patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: NetworkSource) -> SkipRules:
        """The rules a source's settings ask for."""
        return cls(bool(source.skip_builtin), bool(source.skip_service), bool(source.skip_disabled),
                   tuple(p.lower() for p in source.pattern_list))


def skip_rule(attrs: Attributes, rules: SkipRules) -> str | None:
    """The first skip rule an account matches, or None for a person to list."""
    classes = {c.decode().lower() for c in attrs.get("objectclass", ())}
    name = _text(attrs, "sAMAccountName")
    flags = int(_text(attrs, "userAccountControl") or 0)
    if "computer" in classes or name.endswith("$") or (flags and not flags & NORMAL_ACCOUNT):
        return "computer"
    sid = attrs.get("objectsid", [b""])[0]
    rid = int.from_bytes(sid[-4:], "little") if len(sid) >= 12 else 1000
    if rules.builtin and (_text(attrs, "isCriticalSystemObject").upper() == "TRUE" or rid < 1000):
        return "builtin"
    if rules.service and (attrs.get("serviceprincipalname") or "msds-managedserviceaccount" in classes
                          or any(fnmatch.fnmatchcase(name.lower(), p) for p in rules.patterns)):
        return "service"
    if rules.disabled and flags & ACCOUNTDISABLE:
        return "disabled"
    return None


def account_record(attrs: Attributes) -> dict:
    """A "network" discovery record from an account, through the field schema's AD attributes."""
    values = {name: _clean(_text(attrs, attribute)) for name, attribute in AD_ATTRIBUTES.items()}
    display = _clean(_text(attrs, "displayName")) or " ".join(
        p for p in (values["first_name"], values["last_name"]) if p)
    if not (values["first_name"] or values["last_name"]) and display:
        values["first_name"], values["last_name"] = split_full_name(display)
    upn = _text(attrs, "userPrincipalName")
    if not values["email"] and routable_upn(upn):  # as the agent does: the UPN is usually the mailbox
        values["email"] = upn
    return {**values, "display_name": display, "machine_name": "", "os": "", "source": "network",
            "source_key": account_key(attrs)}


# --- the directory ------------------------------------------------------------------------------

def directory_settings(source: NetworkSource) -> DirectorySettings:
    """How to reach the source domain, with the password decrypted."""
    return DirectorySettings(
        urls=[source.ldaps_url], bind_user=source.bind_user,
        bind_password=secrets.box().decrypt(source.bind_secret) or "", users_ou=source.search_base,
        upn_suffix="", ca_cert_pem=source.ca_cert or None, verify_tls=source.verify_tls,
        tls_server_name=source.tls_server_name or None, receive_timeout=60)


def _search(conn, base: str, query: str, attributes: list[str], *, scope="SUBTREE", cookie=None, controls=None):
    """One search (or one page of one); DirectoryError unless it succeeded."""
    try:
        conn.search(base, query, scope, attributes=attributes, paged_size=PAGE_SIZE if scope == "SUBTREE" else None,
                    paged_cookie=cookie, controls=controls)
    except LDAPException as error:
        raise error_from_exception(error, doing="read the accounts") from None
    if conn.result.get("result") != 0:
        raise error_from_result(conn.result, doing="read the accounts", target=base)
    return [{k.lower(): v for k, v in r["raw_attributes"].items()} for r in conn.response or ()
            if r.get("type") == "searchResEntry"]


def paged_accounts(conn, base: str, query: str, attributes: list[str]) -> Iterator[list[Attributes]]:
    """The accounts matching query under base, a page (at most 500) at a time."""
    cookie = None
    while True:
        page = _search(conn, base, query, attributes, cookie=cookie)
        yield page
        cookie = ((conn.result.get("controls") or {}).get(PAGED_CONTROL) or {}).get("value", {}).get("cookie")
        if not cookie:
            return


def domain_controller_state(conn) -> tuple[int, str]:
    """The DC's highestCommittedUSN and its identity (the invocationId of its NTDS Settings)."""
    [root] = _search(conn, "", "(objectClass=*)", ["highestCommittedUSN", "dsServiceName"], scope="BASE")
    usn, service = int(_text(root, "highestCommittedUSN") or 0), _text(root, "dsServiceName")
    try:
        [settings] = _search(conn, service, "(objectClass=*)", ["invocationId"], scope="BASE")
        return usn, str(uuid.UUID(bytes_le=settings["invocationid"][0]))
    except (DirectoryError, ValueError, KeyError):  # not readable by this account: the DC's name will do
        return usn, service


def scope_digest(source: NetworkSource) -> str:
    """A fingerprint of what a run reads and skips: when it changes, the next run is full."""
    parts = [source.search_base.lower(), str(source.skip_builtin), str(source.skip_service),
             str(source.skip_disabled), *sorted(p.lower() for p in source.pattern_list)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def test_source(source: NetworkSource) -> str:
    """Connect, sign in and find the search base; the outcome in plain words (DirectoryError if not)."""
    conn = connect(directory_settings(source))
    try:
        usn, _ = domain_controller_state(conn)
        if not _search(conn, source.search_base, "(objectClass=*)", ["objectClass"], scope="BASE"):
            raise DirectoryError(f"The search base {source.search_base} was not found.", code="no_such_object")
    finally:
        conn.unbind()
    return f"Signed in to {source.ldaps_url} as {source.bind_user}; the search base exists (USN {usn})."


# --- a run --------------------------------------------------------------------------------------

def read_domain(run: DiscoveryRun, source: NetworkSource, report: Report) -> None:
    """The run's work: read, skip, map and upsert; mark what is gone; move the watermark."""
    conn = connect(directory_settings(source))
    try:
        usn, identity = domain_controller_state(conn)
        digest = scope_digest(source)
        incremental = (not run.full_requested and source.usn_watermark is not None
                       and source.dc_identity == identity and source.scope_digest == digest)
        run.mode, run.usn_from, run.usn_to = ("incremental" if incremental else "full"), source.usn_watermark, usn
        catalog = _network_entries(run.deployment_id)
        query = f"(&{ACCOUNTS}(uSNChanged>={source.usn_watermark + 1}))" if incremental else ACCOUNTS
        tally = _Tally(run, source, catalog)
        for page in paged_accounts(conn, source.search_base, query, READ):
            tally.add_page(page)
            report(run)
        present = _list_keys(conn, source.search_base) if incremental else tally.keys
    finally:
        conn.unbind()
    tally.finish(present, incremental)
    source.usn_watermark, source.dc_identity, source.scope_digest = usn, identity, digest


def _network_entries(deployment_id: int) -> dict[str, tuple[int, bool]]:
    """The deployment's network entries: source key → (id, marked missing)."""
    rows = db.session.execute(sa.select(CatalogEntry.source_key, CatalogEntry.id, CatalogEntry.missing_since)
                              .where(CatalogEntry.deployment_id == deployment_id, CatalogEntry.source == "network"))
    return {key: (entry_id, missing is not None) for key, entry_id, missing in rows}


def _list_keys(conn, base: str) -> set[str]:
    """The objectGUIDs of every person account under base (one small attribute: a cheap listing)."""
    return {account_key(attrs) for page in paged_accounts(conn, base, PERSONS, ["objectGUID"])
            for attrs in page if attrs.get("objectguid")}


class _Tally:
    """Counts a run's pages as they come, and writes each page's records to the Catalog."""

    def __init__(self, run: DiscoveryRun, source: NetworkSource, catalog: dict[str, tuple[int, bool]]):
        self.run, self.rules, self.catalog = run, SkipRules.of(source), catalog
        self.keys: set[str] = set()  # every person account read
        self.listed: set[str] = set()  # accounts read and written to the Catalog
        self.refused: set[str] = set()  # accounts read whose values cannot be stored: still there
        self.skipped_by_rule = {rule: 0 for rule in RULES}
        self.rejected_details: list[list[str]] = []
        self.now = utcnow()

    def add_page(self, page: list[Attributes]) -> None:
        """Skip, map, check and upsert one page of accounts; commit, so progress is visible."""
        records = []
        for attrs in page:
            if not attrs.get("objectguid"):
                continue
            key = account_key(attrs)
            rule = skip_rule(attrs, self.rules)
            if rule != "computer":  # the same accounts as the key listing of an incremental run
                self.keys.add(key)
            if rule:
                self.skipped_by_rule[rule] += 1
                continue
            record, errors = discovery.check_record(account_record(attrs))
            if record is None:
                self._reject(attrs, key, errors)
                continue
            records.append(record)
            self.listed.add(key)
        outcomes = discovery.upsert_records(self.run.deployment_id, records, self.now)
        for outcome in ("created", "updated", "unchanged"):
            setattr(self.run, outcome, getattr(self.run, outcome) + outcomes.count(outcome))
        self.run.read += len(page)
        self.run.skipped = sum(self.skipped_by_rule.values())
        self.run.skipped_by_rule = dict(self.skipped_by_rule)
        db.session.commit()

    def _reject(self, attrs: Attributes, key: str, errors: list[dict]) -> None:
        """Count an account whose values cannot be stored, and keep the first reasons."""
        self.run.rejected += 1
        self.refused.add(key)
        if len(self.rejected_details) < 50:
            reason = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            self.rejected_details.append([key, _text(attrs, "sAMAccountName"), reason])
            self.run.rejected_details = list(self.rejected_details)

    def finish(self, present: set[str], incremental: bool) -> None:
        """Mark entries whose account is gone or now skipped as missing; the others present as seen."""
        skipped_now = self.keys - self.listed - self.refused
        gone = [entry_id for key, (entry_id, missing) in self.catalog.items()
                if not missing and (key not in present or key in skipped_now)]
        self.run.missing = _mark_missing(gone, self.now)
        self.run.present = len(present)
        if incremental:  # the unchanged accounts were only listed: they are still there
            still = [entry_id for key, (entry_id, missing) in self.catalog.items()
                     if not missing and key in present and key not in self.keys]
            _mark_seen(still, self.now)


def _mark_missing(ids: list[int], now) -> int:
    """Set missing_since on these entries (the first time only); how many were marked."""
    for start in range(0, len(ids), 500):
        db.session.execute(sa.update(CatalogEntry).where(CatalogEntry.id.in_(ids[start:start + 500]),
                                                         CatalogEntry.missing_since.is_(None))
                           .values(missing_since=now).execution_options(synchronize_session=False))
    return len(ids)


def _mark_seen(ids: list[int], now) -> None:
    """Move last_seen of entries confirmed present (their details were not read again)."""
    for start in range(0, len(ids), 500):
        db.session.execute(sa.update(CatalogEntry).where(CatalogEntry.id.in_(ids[start:start + 500]))
                           .values(last_seen=now).execution_options(synchronize_session=False))


def deployment_source(deployment: Deployment) -> NetworkSource | None:
    """The deployment's source domain settings, when saved."""
    return db.session.scalar(sa.select(NetworkSource).where(NetworkSource.deployment_id == deployment.id))
