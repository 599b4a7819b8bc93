"""From one directory account to a catalog record, and which skip rule it meets (no DC needed)."""

from __future__ import annotations

import uuid

import pytest

from app.models.network_source import DEFAULT_SERVICE_PATTERNS
from app.services.network_discovery import RULES, SkipRules, account_record, skip_rule
from app.services.user_schema import AD_ATTRIBUTES

GUID = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
DOMAIN_SID = bytes.fromhex("010500000000000515000000") + b"\x01\x00\x00\x00" * 3
RULES_ON = SkipRules(patterns=tuple(p.lower() for p in DEFAULT_SERVICE_PATTERNS.split()))


def account(rid: int = 1105, classes=("top", "person", "organizationalPerson", "user"), **values) -> dict:
    """Raw attributes as ldap3 returns them (names lower-cased by the reader, values as bytes)."""
    attrs = {"objectguid": [GUID.bytes_le], "objectsid": [DOMAIN_SID + rid.to_bytes(4, "little")],
             "objectclass": [c.encode() for c in classes], "useraccountcontrol": [b"512"]}
    attrs.update({k.lower(): [v.encode() if isinstance(v, str) else v for v in (vs if isinstance(vs, list) else [vs])]
                  for k, vs in values.items()})
    return attrs


def test_every_schema_field_is_read_from_its_ad_attribute():
    values = {"first_name": "Zoë", "last_name": "O'Leary", "email": "zoe@client.example", "username": "zoleary",
              "phone": "+44 113 496 0000", "extension": "12", "department": "R&D", "location": "Leeds",
              "job_title": "Head of\tresearch"}
    record = account_record(account(**{AD_ATTRIBUTES[name]: value for name, value in values.items()},
                                    displayName="Zoë O'Leary"))
    assert {name: record[name] for name in values} == {**values, "job_title": "Head of research"}
    assert (record["source"], record["source_key"], record["display_name"]) == ("network", str(GUID), "Zoë O'Leary")
    assert record["machine_name"] == record["os"] == ""


def test_a_missing_name_comes_from_the_display_name_and_a_routable_upn_stands_in_for_the_mail():
    record = account_record(account(displayName="Lee, Pat", userPrincipalName="pat.lee@client.example"))
    assert (record["first_name"], record["last_name"], record["email"]) == ("Pat", "Lee", "pat.lee@client.example")
    local = account_record(account(givenName="Bo", userPrincipalName="bo@corp.local"))
    assert (local["email"], local["display_name"]) == ("", "Bo")


@pytest.mark.parametrize(("attrs", "rule"), [
    (account(), None),
    (account(classes=("top", "person", "organizationalPerson", "user", "computer"), sAMAccountName="PC1$",
             userAccountControl="4096"), "computer"),
    (account(sAMAccountName="TRUST$", userAccountControl="2080"), "computer"),
    (account(rid=500, sAMAccountName="Administrator"), "builtin"),
    (account(rid=502, userAccountControl="514"), "builtin"),  # krbtgt: built-in before disabled
    (account(isCriticalSystemObject="TRUE", sAMAccountName="dns-dc1"), "builtin"),
    (account(sAMAccountName="svc_backup"), "service"),
    (account(sAMAccountName="SQL_SVC"), "service"),
    (account(sAMAccountName="webpool", servicePrincipalName="HTTP/web.client.local"), "service"),
    (account(sAMAccountName="d.moss", userAccountControl="514"), "disabled"),
    (account(sAMAccountName="sarah"), None),  # "sa_*" needs the underscore
])
def test_each_skip_rule_and_their_order(attrs, rule):
    assert skip_rule(attrs, RULES_ON) == rule
    assert rule is None or rule in RULES


def test_rules_that_are_turned_off_let_the_account_through():
    off = SkipRules(builtin=False, service=False, disabled=False)
    assert skip_rule(account(rid=500), off) is None
    assert skip_rule(account(sAMAccountName="svc_backup", userAccountControl="514"), off) is None
    assert skip_rule(account(sAMAccountName="PC1$"), off) == "computer"  # always
