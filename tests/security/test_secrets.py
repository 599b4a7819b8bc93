"""Secrets: a dump of the database and of Redis holds no plaintext secret; every encrypted column is
registered for `enlist rotate-key`, which re-encrypts under the newest key so the old one can go."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet

from app.config import TestConfig
from app.extensions import db
from app.models import Deployment, ProvisionTask
from app.services import provisioning, secrets
from app.services.secrets import SecretError, encrypted_columns
from tests.conftest import TEST_PASSWORD
from tests.jobs.support import make_users

BIND_PASSWORD = "Bind-Secret-7f3e#Qz"
TYPED_PASSWORD = "Typed-Initial-9x!Kq"
NEW_OPERATOR_PASSWORD = "New-Operator-Pass-4412"
WRONG_PASSWORD = "Wrong-Guess-Passw0rd-77"
FERNET_PREFIX = "gAAAAA"  # every Fernet token: version byte 0x80 and a timestamp, base64


def database_dump() -> str:
    """Every value of every table (reflected, so tables the models do not know are included too)."""
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    parts = []
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.append("\x1f".join(str(v) for v in row))
        if conn.dialect.name == "sqlite":
            parts.extend(conn.connection.dbapi_connection.iterdump())
    return "\n".join(parts)


def database_files() -> bytes:
    """The raw bytes of the SQLite file and its WAL: free pages keep what was once written."""
    if db.engine.dialect.name != "sqlite":
        return b""
    path = Path(db.engine.url.database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists())


def _expanded(value: bytes) -> bytes:
    """A value and, when it is zlib data (RQ compresses job payloads), its decompressed form."""
    try:
        return value + b"\x1f" + zlib.decompress(value)
    except zlib.error:
        return value


def redis_dump(url: str) -> bytes:
    """Every key and value of the Redis database, whatever its type."""
    r = redis.Redis.from_url(url)
    parts = []
    readers = {b"string": lambda key: [r.get(key) or b""],
               b"hash": lambda key: [b for kv in r.hgetall(key).items() for b in kv],
               b"list": lambda key: r.lrange(key, 0, -1),
               b"set": lambda key: list(r.smembers(key)),
               b"zset": lambda key: [m for m, _ in r.zrange(key, 0, -1, withscores=True)],
               b"stream": lambda key: [repr(r.xrange(key)).encode()]}
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        assert kind in readers, f"Redis holds a {kind!r} at {key!r}: teach this dump to read it"
        parts.append(key)
        parts.extend(_expanded(v) for v in readers[kind](key))
    return b"\n".join(parts)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def on_cloud(deployment, **settings):
    """A directory that is not reached, marked verified (what a passing Test connection does)."""
    from app.models._base import utcnow
    from app.services import deployments

    settings = {"ldaps_url": "ldaps://dc1.acme.invalid:636", "bind_user": "svc-enlist@acme.example",
                "bind_password": BIND_PASSWORD, "base_ou": "DC=acme,DC=example", **settings}
    deployments.update_deployment(deployment, "tests", **settings)
    deployment.directory_verified_at = utcnow()
    deployment.directory_verified_digest = deployment.directory_digest()
    db.session.commit()
    return deployment


@pytest.fixture()
def exercised(app, client, auth, admin, make_deployment):
    """Every feature that stores a secret, used through the pages where there is one; the plaintexts."""
    make_deployment("ACME")
    edit = "/deployments/ACME/edit"
    response = auth.post(edit, {"code": "ACME", "name": "Acme Dental", "ldaps_url": "ldaps://dc1.acme.invalid:636",
                                "bind_user": "svc-enlist@acme.example", "bind_password": BIND_PASSWORD,
                                "base_ou": "DC=acme,DC=example", "upn_suffix": "acme.example",
                                "naming_policy": "first.last", "password_mode": "typed", "verify_tls": "y"},
                         page=edit)
    assert response.status_code == 302, response.get_data(as_text=True)
    deployment = db.session.scalar(sa.select(Deployment).where(Deployment.code == "ACME"))
    assert secrets.box().decrypt(deployment.bind_secret) == BIND_PASSWORD
    on_cloud(deployment, password_mode="typed")

    page = auth.post("/account/tokens", {"name": "rmm"}, page="/account/tokens").get_data(as_text=True)
    api_token = re.search(r'value="(enl_[^"]+)"', page).group(1)
    assert client.get("/api/v1/deployments", headers=bearer(api_token)).status_code == 200

    assert auth.post("/operators", {"email": "new@msp.example", "password": NEW_OPERATOR_PASSWORD,
                                    "role": "technician", "name": "New"}).status_code == 302
    auth.post("/sign-out", page="/deployments/")
    assert auth.sign_in("new@msp.example", WRONG_PASSWORD).status_code == 422  # a failed attempt is audited

    make_users(deployment, 3, prefix="t")
    provisioning.send_to_cloud(deployment, admin, password=TYPED_PASSWORD)  # jobs wait in Redis: no worker runs
    generated_for = on_cloud(make_deployment("BETA", upn_suffix="beta.example"))
    make_users(generated_for, 3, prefix="g")
    provisioning.send_to_cloud(generated_for, admin)
    generated = [secrets.box().decrypt(t) for t in db.session.scalars(
        sa.select(ProvisionTask.password_secret).where(ProvisionTask.password_secret.is_not(None)))]
    generated = [p for p in generated if p != TYPED_PASSWORD]
    assert len(generated) == 3 and all(len(p) >= 12 for p in generated)
    return {"bind password": BIND_PASSWORD, "API token": api_token, "operator password": TEST_PASSWORD,
            "new operator's password": NEW_OPERATOR_PASSWORD, "mistyped password": WRONG_PASSWORD,
            "typed initial password": TYPED_PASSWORD,
            **{f"generated initial password {i}": p for i, p in enumerate(generated)}}


def test_a_dump_of_the_database_and_of_redis_holds_no_plaintext_secret(app, exercised):
    dump, files, in_redis = database_dump(), database_files(), redis_dump(app.config["REDIS_URL"])
    # The dumps are real: they hold what is not secret.
    assert "svc-enlist@acme.example" in dump and "new@msp.example" in dump and "t0002@client.example" in dump
    assert b"rq:job:" in in_redis and b"provisioning" in in_redis
    if files:
        assert b"svc-enlist@acme.example" in files
    for name, secret in exercised.items():
        assert secret not in dump, f"the {name} is in the database dump"
        assert secret.encode() not in files, f"the {name} is in the database file"
        assert secret.encode() not in in_redis, f"the {name} is in Redis"
        # Nor a trivially recoverable form of it.
        assert secret[::-1] not in dump and secret.encode().hex() not in dump, name


def test_every_column_holding_ciphertext_is_registered_for_rotation(app, exercised):
    registered = {f"{c.table.name}.{c.name}" for c in encrypted_columns(db.metadata)}
    assert {"deployments.bind_secret", "provision_tasks.password_secret"} <= registered
    holding = set()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if column.name.endswith(("_secret", "_ciphertext", "_encrypted")):
                    holding.add(f"{table.name}.{column.name}")
                if isinstance(column.type, sa.String | sa.Text):
                    hit = conn.execute(sa.select(column).where(column.like(f"{FERNET_PREFIX}%")).limit(1)).first()
                    if hit:
                        holding.add(f"{table.name}.{column.name}")
    assert holding, "the exercise stored no ciphertext: this check would prove nothing"
    assert holding <= registered, f"encrypted but not rotated by enlist rotate-key: {holding - registered}"


def test_tokens_are_stored_as_digests_only(app, exercised):
    from app.models import ApiToken
    from app.services.secrets import token_digest

    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "rmm"))
    assert row.token_digest == token_digest(exercised["API token"]) and len(row.token_digest) == 64


def test_discovery_tokens_never_reach_the_database_or_redis_in_plaintext(app):
    if "discovery-token" not in app.cli.commands:
        pytest.skip("no discovery tokens yet: `enlist discovery-token CODE` arrives with issue 5")
    from app.services import deployments

    deployments.create_deployment("ACME", "Acme Dental", "tests", upn_suffix="acme.example")
    result = app.test_cli_runner().invoke(args=["discovery-token", "ACME"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().split()[-1]
    assert len(token) >= 20
    used = app.test_client().post("/api/v1/discovery", headers=bearer(token), json={
        "source": "pc", "source_key": "S-1-5-21-9", "first_name": "Ann", "last_name": "Lee"})
    assert used.status_code in (200, 422), used.get_data(as_text=True)  # accepted: the token is in use
    assert token not in database_dump() and token.encode() not in database_files()
    assert token.encode() not in redis_dump(app.config["REDIS_URL"])


def test_integration_keys_never_reach_the_database_or_redis_in_plaintext(app, make_operator):
    accounts = pytest.importorskip("app.services.integration_imports.accounts",
                                   reason="no integration accounts yet: their keys arrive with issue 6")
    admin = make_operator("admin@msp.example", role="admin")
    private_key, api_token = "CW-Private-Key-8f2d41c", "ZD-Api-Token-77ab93xq"
    saved = [accounts.save_account(None, "connectwise", "MSP site", {
        "site": "na.myconnectwise.net", "company_id": "msptest", "public_key": "pubKey123", "client_id": "cid-1"},
        private_key, admin),
        accounts.save_account(None, "zendesk", "Help desk", {"subdomain": "msptest", "email": "agent@msp.example"},
                              api_token, admin)]
    assert [secrets.box().decrypt(a.secret) for a in saved] == [private_key, api_token]
    dump, files, in_redis = database_dump(), database_files(), redis_dump(app.config["REDIS_URL"])
    assert "na.myconnectwise.net" in dump
    for secret in (private_key, api_token):
        assert secret not in dump and secret.encode() not in files and secret.encode() not in in_redis


def test_integration_account_secrets_are_encrypted_columns(app):
    import app.models as models

    model = getattr(models, "IntegrationAccount", None)
    if model is None:
        pytest.skip("no integration accounts yet: ConnectWise and Zendesk keys arrive with issue 6")
    registered = set(encrypted_columns(db.metadata))
    secret_like = [c for c in model.__table__.columns
                   if re.search(r"key|secret|token|password", c.name) and not c.name.endswith(("_id", "_at"))]
    assert secret_like, "IntegrationAccount has no column for its keys?"
    assert all(c in registered for c in secret_like), [c.name for c in secret_like if c not in registered]


OLD_KEY = TestConfig.ENLIST_DATA_KEYS


def keyed_app(app, keys: str):
    """Another app on the same database (tests.conftest is imported twice: pass the URI) with other keys."""
    from app import create_app

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    return create_app({**config, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "ENLIST_DATA_KEYS": keys})


def rotate_key(app_):
    """Run `enlist rotate-key` in app_ (with_appcontext would reuse the test's own app context)."""
    with app_.app_context():
        return app_.test_cli_runner().invoke(args=["rotate-key"])


def stored_ciphertexts() -> dict[str, list[str]]:
    """Every stored ciphertext, by column."""
    found = {}
    for column in encrypted_columns(db.metadata):
        (key,) = column.table.primary_key.columns
        found[f"{column.table.name}.{column.name}"] = list(db.session.scalars(
            sa.select(column).where(column.is_not(None)).order_by(key)))
    return found


def plaintexts(app_) -> dict[str, list[str]]:
    """Every stored secret decrypted by app_'s keys (SecretError when one cannot be)."""
    with app_.app_context():
        box = secrets.box()
        return {name: [box.decrypt(v) for v in values] for name, values in stored_ciphertexts().items()}


def test_rotate_key_re_encrypts_every_secret_so_that_the_old_key_can_be_removed(app, make_deployment, make_operator):
    admin = make_operator("admin@msp.example", role="admin")
    deployment = on_cloud(make_deployment("ACME"), password_mode="typed")
    make_users(deployment, 4)
    provisioning.send_to_cloud(deployment, admin, password=TYPED_PASSWORD)
    before_text, before_cipher = plaintexts(app), stored_ciphertexts()
    assert before_text["deployments.bind_secret"] == [BIND_PASSWORD]
    assert before_text["provision_tasks.password_secret"] == [TYPED_PASSWORD] * 4

    new_key = Fernet.generate_key().decode()
    result = rotate_key(keyed_app(app, f"{new_key},{OLD_KEY}"))
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 5 stored secrets" in result.output and "deployments.bind_secret: 1" in result.output
    db.session.expire_all()
    after_cipher = stored_ciphertexts()
    assert all(set(after_cipher[k]).isdisjoint(before_cipher[k]) for k in before_cipher)

    assert plaintexts(keyed_app(app, new_key)) == before_text  # the old key is gone: all still reads
    with pytest.raises(SecretError):
        plaintexts(keyed_app(app, OLD_KEY))  # and they really are under the new key


def test_rotate_key_changes_nothing_when_a_secret_cannot_be_read(app, make_deployment):
    make_deployment("ACME", ldaps_url="ldaps://dc1.acme.invalid:636", bind_password=BIND_PASSWORD)
    stray = make_deployment("BETA")
    stray.bind_secret = Fernet(Fernet.generate_key()).encrypt(b"under a lost key").decode()
    db.session.commit()
    before = stored_ciphertexts()
    result = rotate_key(keyed_app(app, f"{Fernet.generate_key().decode()},{OLD_KEY}"))
    assert result.exit_code != 0
    assert f"deployments.bind_secret of row {stray.id} cannot be decrypted" in result.output
    assert "nothing was changed" in result.output
    db.session.expire_all()
    assert stored_ciphertexts() == before


def test_rotate_key_with_a_single_key_says_how_to_rotate(app):
    result = app.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code == 0 and "Only one data key is configured" in result.output
