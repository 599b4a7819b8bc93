"""Network discovery against a real Samba AD DC (the client's domain) seeded with 2,000 accounts.

Runs go through the discovery queue as in production: RQ's SimpleWorker with the JSON serializer.
The seed is shared by the session: tests that change accounts change their own ones (p1000-p1009)
or work in an OU of their own, which they delete.
"""

from __future__ import annotations

import secrets

import ldap3
import pytest
import redis
import sqlalchemy as sa
from rq import SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

from app.extensions import db
from app.models import CatalogEntry, DiscoveryRun, NetworkSource
from app.services import network_discovery_runs as runs
from app.services import queue
from tests.discovery import seed
from tests.support.samba import delete_tree, fresh_ou

pytestmark = pytest.mark.samba


def configure(deployment, dc, **overrides) -> NetworkSource:
    """Save the source domain's settings: the DC over verified LDAPS, the whole domain by default."""
    settings = dict(ldaps_url=dc.url, bind_user=dc.admin_upn, bind_password=dc.admin_password,
                    ca_cert=dc.ca_pem, tls_server_name=dc.tls_name, search_base=dc.base_dn)
    settings.update(overrides)
    return runs.save_source(deployment, "tests", **settings)


def run(deployment, *, full: bool = False) -> DiscoveryRun:
    """Start a run and work the discovery queue until it is done; the run, freshly read."""
    started = runs.start_run(deployment, "tests", full=full)
    SimpleWorker(["discovery"], connection=queue.connection(), serializer=JSONSerializer).work(
        burst=True, logging_level="WARNING")
    db.session.expire_all()
    return db.session.get(DiscoveryRun, started.id)


def catalog(deployment) -> dict[str, CatalogEntry]:
    """The deployment's network entries by username."""
    db.session.expire_all()
    return {e.username: e for e in db.session.scalars(sa.select(CatalogEntry).where(
        CatalogEntry.deployment_id == deployment.id, CatalogEntry.source == "network"))}


def test_a_full_run_lists_every_person_and_counts_each_skip_rule(deployment, source_dc):
    configure(deployment, source_dc)
    done = run(deployment)
    assert (done.state, done.mode, done.error_kind) == ("finished", "full", ""), done.message
    builtins = len(source_dc.builtin_accounts)  # Administrator, Guest, krbtgt, dns-<host>
    assert done.skipped_by_rule == {"computer": seed.COMPUTERS + 1, "builtin": builtins,
                                    "service": seed.SERVICE_NAMED + seed.SERVICE_SPN, "disabled": seed.DISABLED}
    assert (done.created, done.updated, done.unchanged, done.rejected, done.missing) == (seed.PEOPLE, 0, 0, 0, 0)
    assert done.read == seed.SEEDED + builtins + 1 == done.created + done.skipped  # + the DC's own account
    entries = catalog(deployment)
    assert len(entries) == seed.PEOPLE and set(entries) == {f"p{i:04d}" for i in range(seed.PEOPLE)}
    assert sum(1 for e in entries.values() if not e.email) == seed.NO_EMAIL
    assert sum(1 for e in entries.values() if e.first_name in seed.ACCENTED_FIRST) == seed.ACCENTED
    assert sum(1 for e in entries.values() if e.last_name == "O'Brien") == seed.APOSTROPHE
    zoe = entries["p0000"]
    assert (zoe.first_name, zoe.last_name, zoe.display_name, zoe.email) == (
        "Zoë", "Ångström", "Zoë Ångström", "zoe.angstrom.0@corp.example.test")
    assert (zoe.phone, zoe.department, zoe.location, zoe.job_title) == ("5550000", "Sales", "Leeds", "Analyst")
    assert zoe.source_key == zoe.source_key.lower() and len(zoe.source_key) == 36 and zoe.times_seen == 1
    assert "1,880 in the catalog" in done.message and "125 skipped" in done.message
    progress = Job.fetch(done.job_id, connection=queue.connection(), serializer=JSONSerializer).meta["progress"]
    assert (progress["run_id"], progress["read"], progress["created"]) == (done.id, done.read, seed.PEOPLE)


def test_an_unchanged_rerun_reads_no_account_and_touches_no_entry(deployment, source_dc):
    configure(deployment, source_dc)
    first = run(deployment)
    before = {k: (e.times_seen, e.last_seen) for k, e in catalog(deployment).items()}
    again = run(deployment)
    assert (again.mode, again.read, again.created, again.updated, again.missing) == ("incremental", 0, 0, 0, 0)
    assert again.usn_from == first.usn_to and again.usn_to >= first.usn_to
    persons = seed.PEOPLE + seed.DISABLED + seed.SERVICE_NAMED + seed.SERVICE_SPN + len(source_dc.builtin_accounts)
    assert again.present == first.present == persons  # every person account under the base, listed by key only
    after = catalog(deployment)
    assert all(after[k].times_seen == 1 and after[k].last_seen >= seen for k, (_, seen) in before.items())


def test_an_incremental_rerun_after_changing_10_users_touches_those_10(deployment, source_dc):
    configure(deployment, source_dc)
    run(deployment)
    conn = source_dc.admin_connection()
    title = f"Changed {secrets.token_hex(3)}"
    changed = [f"p{i:04d}" for i in range(1000, 1010)]
    for name in changed:
        assert conn.modify(f"CN={name},{seed.OU},{source_dc.base_dn}", {"title": [(ldap3.MODIFY_REPLACE, [title])]})
    conn.unbind()
    again = run(deployment)
    assert (again.mode, again.read, again.updated, again.created, again.unchanged, again.missing) == \
        ("incremental", 10, 10, 0, 0, 0)
    entries = catalog(deployment)
    assert {k for k, e in entries.items() if e.times_seen == 2} == set(changed)
    assert all(entries[k].job_title == title for k in changed)
    assert all(e.job_title != title for k, e in entries.items() if k not in changed)


def test_gone_disabled_and_moved_accounts_are_marked_missing_and_come_back(deployment, source_dc):
    conn = source_dc.admin_connection()
    base, elsewhere = fresh_ou(conn, source_dc.base_dn), fresh_ou(conn, source_dc.base_dn)
    try:
        for name in ("gone", "off", "moved", "kept"):
            assert conn.add(f"CN={name},{base}", seed.USER, {"sAMAccountName": f"{name}{secrets.token_hex(3)}",
                                                           "givenName": name.title(), "sn": "Case",
                                                           "userAccountControl": 512}), conn.result
        configure(deployment, source_dc, search_base=base)
        assert run(deployment).created == 4
        conn.delete(f"CN=gone,{base}")
        conn.modify(f"CN=off,{base}", {"userAccountControl": [(ldap3.MODIFY_REPLACE, [514])]})
        conn.modify_dn(f"CN=moved,{base}", "CN=moved", new_superior=elsewhere)
        conn.modify(f"CN=kept,{base}", {"department": [(ldap3.MODIFY_REPLACE, ["Ops"])]})
        again = run(deployment)
        assert (again.mode, again.read, again.updated, again.missing, again.present) == ("incremental", 2, 1, 3, 2)
        assert again.skipped_by_rule["disabled"] == 1
        missing = {e.first_name for e in catalog(deployment).values() if e.missing_since}
        assert missing == {"Gone", "Off", "Moved"}
        conn.modify(f"CN=off,{base}", {"userAccountControl": [(ldap3.MODIFY_REPLACE, [512])]})
        conn.modify_dn(f"CN=moved,{elsewhere}", "CN=moved", new_superior=base)
        back = run(deployment)
        assert (back.read, back.unchanged, back.missing) == (2, 2, 0)
        assert {e.first_name for e in catalog(deployment).values() if e.missing_since} == {"Gone"}
    finally:
        delete_tree(conn, base)
        delete_tree(conn, elsewhere)
        conn.unbind()


def test_changed_skip_rules_make_the_next_run_full(deployment, source_dc):
    configure(deployment, source_dc)
    run(deployment)
    runs.save_source(deployment, "tests", skip_disabled=False)
    again = run(deployment)
    assert (again.mode, again.created, again.unchanged) == ("full", seed.DISABLED, seed.PEOPLE)
    assert again.skipped_by_rule["disabled"] == 0
    forced = run(deployment, full=True)
    assert (forced.mode, forced.created, forced.unchanged) == ("full", 0, seed.PEOPLE + seed.DISABLED)


@pytest.mark.parametrize(("change", "words"), [
    ({"bind_password": "wrong-password-1"}, "refused the sign-in"),
    ({"search_base": "OU=Nowhere,DC=corp,DC=example,DC=test"}, "does not exist"),
    ({"ca_cert": "", "tls_server_name": ""}, "not trusted"),
])
def test_a_failing_run_says_why_and_keeps_the_catalog_and_the_watermark(deployment, source_dc, change, words):
    configure(deployment, source_dc, search_base=f"{seed.OU},{source_dc.base_dn}")
    first = run(deployment)
    runs.save_source(deployment, "tests", **change)
    failed = run(deployment)
    assert failed.state == "failed" and words in failed.message, failed.message
    source = db.session.scalar(sa.select(NetworkSource))
    assert source.usn_watermark == first.usn_to
    assert not any(e.missing_since for e in catalog(deployment).values())


def test_the_job_carries_the_run_id_only_and_the_password_is_encrypted(app, deployment, source_dc):
    source = configure(deployment, source_dc)
    assert source.bind_secret and source_dc.admin_password not in source.bind_secret
    started = runs.start_run(deployment, "tests")
    job = Job.fetch(started.job_id, connection=queue.connection(), serializer=JSONSerializer)
    assert list(job.args) == [started.id] and job.origin == "discovery" and not job.kwargs
    assert runs.start_run(deployment, "tests").id == started.id  # one run at a time
    dump = b"".join(v for k in redis.Redis.from_url(app.config["REDIS_URL"]).keys("*")
                    for v in [redis.Redis.from_url(app.config["REDIS_URL"]).dump(k) or b""])
    assert source_dc.admin_password.encode() not in dump
    job.delete()
    lost = runs.recent_runs(deployment)[0]
    assert lost.state == "failed" and lost.error_kind == "lost"
