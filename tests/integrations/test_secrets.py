"""ConnectWise keys and Zendesk tokens never reach a page, a log line, Redis or the database in plaintext."""

from __future__ import annotations

import base64
import logging
import zlib

import redis
import sqlalchemy as sa

from app.extensions import db
from app.models import IntegrationAccount, IntegrationFetch
from tests.integrations.conftest import CW_PRIVATE_KEY, ZD_API_TOKEN, cw_settings, zd_settings

INDEX = "/integrations/"


def _expanded(value: bytes) -> bytes:
    """A value and, when it is zlib data (RQ compresses job data), its decompressed form."""
    try:
        return value + b"\x1f" + zlib.decompress(value)
    except zlib.error:
        return value


def redis_dump(url: str) -> bytes:
    """Every key and value of the Redis database, whatever its type."""
    r = redis.Redis.from_url(url)
    readers = {b"string": lambda key: [r.get(key) or b""],
               b"hash": lambda key: [b for kv in r.hgetall(key).items() for b in kv],
               b"list": lambda key: r.lrange(key, 0, -1),
               b"set": lambda key: list(r.smembers(key)),
               b"zset": lambda key: [m for m, _ in r.zrange(key, 0, -1, withscores=True)],
               b"stream": lambda key: [repr(r.xrange(key)).encode()]}
    parts = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        assert kind in readers, f"Redis holds a {kind!r} at {key!r}"
        parts.append(key)
        parts.extend(_expanded(v) for v in readers[kind](key))
    return b"\n".join(parts)


def database_dump() -> str:
    """Every row of every table as text."""
    with db.engine.connect() as conn:
        return "\n".join(repr(row) for table in db.metadata.sorted_tables
                         for row in conn.execute(sa.select(table)))


def forms(cw, zd) -> list[dict]:
    cw_values = {"name": "ConnectWise", **cw_settings(cw), "private_key": CW_PRIVATE_KEY}
    zd_values = {"name": "Zendesk", **zd_settings(zd), "api_token": ZD_API_TOKEN}
    return [{"provider": "connectwise", **{f"new-connectwise-{k}": v for k, v in cw_values.items()}},
            {"provider": "zendesk", **{f"new-zendesk-{k}": v for k, v in zd_values.items()}}]


def test_keys_and_tokens_stay_out_of_pages_logs_redis_and_the_database(app, client, auth, admin, acme, cw, zd,
                                                                       work, caplog):
    caplog.set_level(logging.DEBUG)
    pages = []
    for form in forms(cw, zd):
        assert auth.post(INDEX + "accounts", form, page=INDEX).status_code == 303
        provider = form["provider"]
        account = db.session.scalar(sa.select(IntegrationAccount).where(IntegrationAccount.provider == provider))
        test = {**{k.replace("new-" + provider, f"account-{account.id}"): v for k, v in form.items()},
                "account_id": account.id}
        pages.append(auth.htmx("POST", INDEX + "accounts/test", test, page=INDEX))
        remote = next(iter(cw.companies if provider == "connectwise" else zd.organizations))
        base = f"/deployments/ACME/integrations/{provider}/"
        pages.append(auth.htmx("GET", base + "search?q=Client", page=INDEX))
        pages.append(auth.htmx("POST", base + "link", {"remote_id": remote}, page=INDEX))
        fetched = auth.post(base + "fetch", page=f"/deployments/ACME/{provider}/import")
        work()
        pages.append(client.get(fetched.headers["Location"]))
        fetch = db.session.scalar(sa.select(IntegrationFetch).order_by(IntegrationFetch.id.desc()))
        pages.append(auth.post(f"/deployments/ACME/integrations/fetches/{fetch.id}/stage", page=INDEX))
    cw.private_key = "rotated-elsewhere"  # a failing fetch too: its error travels through RQ
    auth.post("/deployments/ACME/integrations/connectwise/fetch", page="/deployments/ACME/connectwise/import")
    work()
    pages += [client.get(url) for url in (INDEX, "/deployments/ACME", "/deployments/ACME/integrations/",
                                          "/deployments/ACME/connectwise/import", "/deployments/ACME/users/")]
    for response in pages:
        assert response.status_code in (200, 303), response.request.path
    secrets = [CW_PRIVATE_KEY, ZD_API_TOKEN,
               base64.b64encode(f"{cw.company_id}+{cw.public_key}:{CW_PRIVATE_KEY}".encode()).decode(),
               base64.b64encode(f"{zd.email}/token:{ZD_API_TOKEN}".encode()).decode()]
    text = "\n".join(r.get_data(as_text=True) for r in pages)
    in_redis, in_db = redis_dump(app.config["REDIS_URL"]), database_dump()
    assert b"rq:job:integration-fetch-" in in_redis  # the dump saw the jobs
    assert "Found 6 contacts in Client 1 Ltd" in in_db  # the dump saw the fetches
    for secret in secrets:
        assert secret not in text, "a page shows a secret"
        assert secret not in caplog.text, "a log line holds a secret"
        assert secret.encode() not in in_redis, "Redis holds a secret"
        assert secret not in in_db, "the database holds a secret in plaintext"
