"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from the migrations: run 'flask db migrate': {diff}"


def test_migrations_have_one_head_so_a_plain_upgrade_reaches_the_latest_schema(app):
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(app.extensions["migrate"].directory).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision"
