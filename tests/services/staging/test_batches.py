"""The staging pipeline: stage, validate with duplicates, fix, skip, commit once."""

import pytest

from app.extensions import db
from app.models import BatchState, ImportRow, User
from app.services.errors import Conflict, DomainError
from app.services.staging import batches, commit
from app.services.staging.batches import StagedRecord


def rec(n, first="Pat", last="Smith", **fields):
    """A staged record for spreadsheet row n."""
    base = f"{first}.{last}".lower()
    values = {"first_name": first, "last_name": last, "email": f"{base}@acme.example", "username": base,
              "phone": "5551234567", **fields}
    return StagedRecord(row_number=n, values=values)


def problems(row):
    return {(p["field"], p["code"]) for p in row.problems}


def row_of(batch, n):
    return batches.get_row(batch, n)


def test_staging_counts_rows_errors_and_warnings(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [
        rec(2, "Ann", "Lee"), rec(3, "Pat", "O'Leary"), rec(4, "Bo", "Ray", email="bo@gmail.com")], "tests")
    assert (batch.row_count, batch.error_rows, batch.warning_rows) == (3, 1, 1)
    assert problems(row_of(batch, 3)) == {("last_name", "special_characters")}
    assert row_of(batch, 3).problems[0]["suggestion"] == "OLeary"


def test_the_same_username_or_email_twice_in_the_file_names_the_other_row(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [
        rec(2, "Ann", "Lee"), rec(5, "Ann", "Lee"), rec(9, "Bo", "Ray")], "tests")
    messages = [p["message"] for p in row_of(batch, 2).problems]
    assert "Username ann.lee is also on row 5 of this import." in messages
    assert any("is also on row 2" in m for m in (p["message"] for p in row_of(batch, 5).problems))
    assert batch.error_rows == 2


def test_a_username_already_used_by_a_user_names_that_user(make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee")], "tests")
    messages = " ".join(p["message"] for p in row_of(batch, 2).problems)
    assert "already used by the user Ann Lee (ann.lee)" in messages


def test_missing_username_is_derived_avoiding_names_in_the_file(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee"), rec(3, "Ann", "Lee", username="",
                                                                                  email="ann2@acme.example")], "tests")
    assert row_of(batch, 3).problems[0]["suggestion"] == "ann.lee2"


def test_fixing_one_duplicate_clears_the_other_row_too(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee"), rec(3, "Ann", "Lee")], "tests")
    batches.update_row(batch, row_of(batch, 3), {"username": "ann.lee2", "email": "ann2@acme.example"}, "tests")
    assert not row_of(batch, 2).has_errors and not row_of(batch, 3).has_errors
    assert batch.error_rows == 0


def test_inline_edit_revalidates_and_updates_counts(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Pat", "O'Leary"), rec(3, "Ann", "Lee")], "tests")
    assert batch.error_rows == 1
    batches.update_row(batch, row_of(batch, 2), {"last_name": "OLeary", "username": "pat.oleary"}, "tests")
    assert batch.error_rows == 0 and row_of(batch, 2).last_name == "OLeary"


def test_apply_the_fix_to_all_rows_like_it(make_deployment):
    deployment = make_deployment("ACME")
    records = [rec(n, "Pat", f"O'Lea{chr(96 + n)}", username=f"user{n}", email=f"u{n}@acme.example")
               for n in range(2, 7)]
    records.append(rec(7, "Ann", "Lee", phone="(555) 123-4567 x12"))
    batch = batches.stage_records(deployment, "excel", records, "tests")
    assert batch.error_rows == 6
    assert batches.fix_all(batch, "last_name", "special_characters", "tests") == 5
    assert batch.error_rows == 1
    assert batches.fix_all(batch, "phone", "extension_in_phone", "tests") == 1
    row = row_of(batch, 7)
    assert (row.phone, row.extension, batch.error_rows) == ("5551234567", "12", 0)


def test_skipping_a_row_leaves_it_out_and_clears_its_errors_from_the_count(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Pat", "O'Leary"), rec(3, "Ann", "Lee")], "tests")
    batches.set_row_skipped(batch, row_of(batch, 2), True, "tests")
    assert (batch.error_rows, batch.skipped_rows) == (0, 1)
    result = commit.commit_batch(batch, "tests")
    assert result.imported == 1 and batch.state == BatchState.IMPORTED


def test_commit_refuses_while_rows_have_errors_and_creates_nothing(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Pat", "O'Leary"), rec(3, "Ann", "Lee")], "tests")
    with pytest.raises(DomainError, match="1 rows still have errors"):
        commit.commit_batch(batch, "tests")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_commit_only_the_valid_rows_keeps_the_others_for_later(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "csv", [rec(2, "Pat", "O'Leary"), rec(3, "Ann", "Lee")], "tests")
    result = commit.commit_batch(batch, "tests", only_valid=True)
    assert (result.imported, result.left_with_errors, batch.state) == (1, 1, BatchState.PARTIAL)
    user = db.session.scalar(db.select(User))
    assert (user.username, user.origin, user.status, user.import_batch_id) == ("ann.lee", "excel", "draft", batch.id)
    batches.update_row(batch, row_of(batch, 2), {"last_name": "OLeary", "username": "pat.oleary"}, "tests")
    assert commit.commit_batch(batch, "tests").imported == 1
    assert batch.state == BatchState.IMPORTED


def test_committing_twice_creates_nothing_twice(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee")], "tests")
    commit.commit_batch(batch, "tests")
    with pytest.raises(Conflict):
        commit.commit_batch(batch, "tests")
    again = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee")], "tests")
    assert again.error_rows == 1  # the user exists now: a second file with the same person is flagged
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_a_user_added_after_staging_is_caught_at_commit(make_deployment, make_user):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee")], "tests")
    make_user(deployment, first_name="Ann", last_name="Lee")
    with pytest.raises(DomainError):
        commit.commit_batch(batch, "tests")
    assert problems(row_of(batch, 2)) >= {("username", "duplicate_username")}


def test_values_longer_than_the_schema_are_kept_and_flagged(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee", job_title="x" * 300)], "tests")
    row = row_of(batch, 2)
    assert len(row.job_title) == 300 and ("job_title", "too_long") in problems(row)
    assert db.session.scalar(db.select(db.func.count(ImportRow.id))) == 1


def test_deriving_missing_usernames_for_all_rows_gives_each_its_own(make_deployment):
    deployment = make_deployment("ACME")
    records = [rec(n, "Pat", "Smith", username="", email=f"p{n}@acme.example") for n in range(2, 5)]
    batch = batches.stage_records(deployment, "excel", records, "tests")
    assert batches.fix_all(batch, "username", "missing", "tests") == 3
    assert sorted(row_of(batch, n).username for n in range(2, 5)) == ["pat.smith", "pat.smith2", "pat.smith3"]
    assert batch.error_rows == 0


def test_a_username_twice_in_the_file_offers_the_next_free_name_to_the_later_row(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [rec(2, "Ann", "Lee"), rec(3, "Ann", "Lee",
                                                                                  email="a2@acme.example")], "tests")
    first = next(p for p in row_of(batch, 2).problems if p["field"] == "username")
    later = next(p for p in row_of(batch, 3).problems if p["field"] == "username")
    assert first["suggestion"] is None and later["suggestion"] == "ann.lee2"


def test_counts_kept_by_edits_match_a_full_recount(make_deployment):
    deployment = make_deployment("ACME")
    batch = batches.stage_records(deployment, "excel", [
        rec(2, "Ann", "Lee"), rec(3, "Ann", "Lee"), rec(4, "Pat", "O'Leary"),
        rec(5, "Bo", "Ray", email="bo@gmail.com")],
        "tests")
    batches.update_row(batch, row_of(batch, 3), {"username": "ann.lee3", "email": "ann3@acme.example"}, "tests")
    batches.set_row_skipped(batch, row_of(batch, 4), True, "tests")
    batches.update_row(batch, row_of(batch, 5), {"username": "ann.lee"}, "tests")
    batches.set_row_skipped(batch, row_of(batch, 4), False, "tests")
    kept = (batch.error_rows, batch.warning_rows, batch.skipped_rows, batch.imported_rows)
    batches.recount(batch)
    assert kept == (batch.error_rows, batch.warning_rows, batch.skipped_rows, batch.imported_rows) == (3, 1, 0, 0)
