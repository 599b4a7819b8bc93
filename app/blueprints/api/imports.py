"""Imports over the API: the same staging pipeline and messages as the pages."""

from flask import g, jsonify, request

from app.blueprints.api import bp
from app.extensions import db
from app.models import ImportBatch
from app.models._base import record_of
from app.services import deployments
from app.services.errors import DomainError, NotFound
from app.services.staging import batches, commit
from app.services.staging.rows import RowQuery, list_rows
from app.services.staging.spreadsheet_import import stage_upload
from app.services.user_schema import FIELD_NAMES

MAX_ROWS_PER_ANSWER = 1000


def row_json(row) -> dict:
    """A staged row: its spreadsheet row number, values, errors and warnings."""
    strip = ("field", "code", "message", "suggestion")
    return {"row": row.row_number, "state": row.state, "values": record_of(row),
            "errors": [{k: p.get(k) for k in strip} for p in row.problems if p["severity"] == "error"],
            "warnings": [{k: p.get(k) for k in strip} for p in row.problems if p["severity"] != "error"]}


def batch_json(batch: ImportBatch, *, page: int = 1, errors_only: bool = False) -> dict:
    """A batch with its counts and one page of rows (all of them up to 1,000)."""
    rows = list_rows(batch, RowQuery(errors_only=errors_only, page=page, per_page=MAX_ROWS_PER_ANSWER))
    meta = batch.meta or {}
    return {"id": batch.id, "deployment": batch.deployment.code, "source": batch.source, "filename": batch.filename,
            "state": batch.state, "counts": {"rows": batch.row_count, "errors": batch.error_rows,
                                              "warnings": batch.warning_rows, "skipped": batch.skipped_rows,
                                              "imported": batch.imported_rows, "importable": batch.importable_rows},
            "unknown_columns": meta.get("unknown_columns", []), "columns": meta.get("columns", {}),
            "rows": [row_json(r) for r in rows.items], "page": rows.page, "pages": rows.pages}


def _batch(batch_id: int) -> ImportBatch:
    """A batch by id."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"There is no import {batch_id}.")
    return batch


@bp.post("/deployments/<code>/imports")
def create_import(code: str):
    """Upload an .xlsx or .csv (multipart field `file`): 201 with the staged batch."""
    deployment = deployments.get_by_code(code)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return jsonify(error="Send the file as multipart/form-data in a field named 'file'."), 400
    batch = stage_upload(deployment, upload.stream, upload.filename, g.api_operator)
    return jsonify(batch_json(batch)), 201


@bp.get("/imports/<int:batch_id>")
def get_import(batch_id: int):
    """A batch with its counts and rows (?page=N, ?errors=1)."""
    return jsonify(batch_json(_batch(batch_id), page=request.args.get("page", 1, type=int),
                              errors_only=request.args.get("errors") == "1"))


@bp.patch("/imports/<int:batch_id>/rows/<int:row_number>")
def patch_row(batch_id: int, row_number: int):
    """Change some fields of a row (or {"skipped": true}); the row comes back checked again."""
    batch = _batch(batch_id)
    row = batches.get_row(batch, row_number)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="Send a JSON object with the fields to change."), 400
    if "skipped" in payload:
        batches.set_row_skipped(batch, row, bool(payload["skipped"]), g.api_operator)
    values = {k: str(v) for k, v in payload.items() if k in FIELD_NAMES and v is not None}
    if values:
        batches.update_row(batch, row, values, g.api_operator)
    return jsonify({**row_json(row), "counts": batch_json(batch, page=1)["counts"]})


@bp.post("/imports/<int:batch_id>/commit")
def commit_import(batch_id: int):
    """Import the batch ({"only_valid": true} to import the valid rows and keep the rest)."""
    batch = _batch(batch_id)
    payload = request.get_json(silent=True) or {}
    try:
        result = commit.commit_batch(batch, g.api_operator, only_valid=bool(payload.get("only_valid")))
    except DomainError as exc:
        return jsonify(error=exc.message, counts=batch_json(batch)["counts"]), 409 if exc.status == 409 else 422
    return jsonify(imported=result.imported, left_with_errors=result.left_with_errors, skipped=result.skipped,
                   state=batch.state)
