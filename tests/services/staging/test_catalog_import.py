"""Import from catalog: the same staging as Excel, remembering the entry each user came from."""

import pytest

from app.extensions import db
from app.models import CatalogEntry, User
from app.services.errors import DomainError
from app.services.staging import commit
from app.services.staging.catalog_import import imported_entry_ids, stage_catalog_entries


@pytest.fixture()
def entries(make_deployment):
    deployment = make_deployment("ACME")
    rows = [CatalogEntry(deployment_id=deployment.id, source="network", source_key=f"guid-{n}", first_name=first,
                         last_name=last, email=f"{first.lower()}@acme.example", username=first.lower(),
                         phone="5551234567")
            for n, (first, last) in enumerate([("Ann", "Lee"), ("Pat", "O'Leary"), ("Bo", "Ray")])]
    db.session.add_all(rows)
    db.session.commit()
    return deployment, rows


def test_selected_entries_are_staged_with_their_problems(entries):
    deployment, rows = entries
    batch = stage_catalog_entries(deployment, [rows[0].id, rows[1].id], "tests")
    assert (batch.source, batch.row_count, batch.error_rows) == ("catalog", 2, 1)


def test_imported_users_remember_their_catalog_entry_and_entries_are_flagged(entries):
    deployment, rows = entries
    batch = stage_catalog_entries(deployment, [rows[0].id, rows[2].id], "tests")
    commit.commit_batch(batch, "tests")
    user = db.session.scalar(db.select(User).where(User.username == "ann"))
    assert (user.origin, user.catalog_entry_id) == ("catalog", rows[0].id)
    assert imported_entry_ids(deployment) == {rows[0].id, rows[2].id}


def test_entries_already_imported_are_left_out_and_said_so(entries):
    deployment, rows = entries
    commit.commit_batch(stage_catalog_entries(deployment, [rows[0].id], "tests"), "tests")
    batch = stage_catalog_entries(deployment, None, "tests")
    assert batch.row_count == 2 and "1 chosen entries were already imported" in batch.meta["skipped_summary"]
    with pytest.raises(DomainError, match="already imported"):
        stage_catalog_entries(deployment, [rows[0].id], "tests")
