"""Import pages: upload, preview with fix-up, commit; the same services as the API."""

import io

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.blueprints.access import hx_redirect, is_htmx
from app.blueprints.imports import bp
from app.models._base import record_of
from app.services.errors import DomainError
from app.services.spreadsheet.template import write_template
from app.services.staging import batches, report
from app.services.staging.catalog_import import stage_catalog_entries
from app.services.staging.commit import commit_batch
from app.services.staging.fixes import changes_for
from app.services.staging.rows import RowQuery, list_rows, problem_summary
from app.services.staging.spreadsheet_import import stage_upload
from app.services.user_schema import FIELD_NAMES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHANGED = {"HX-Trigger": "batch-changed"}  # the problem summary reloads itself


@bp.get("/")
def index():
    """Import from Excel: the template, the upload, and earlier batches to resume."""
    return render_template("imports/index.html", deployment=g.deployment,
                           batches=batches.list_batches(g.deployment), error=None)


@bp.get("/template.xlsx")
def template():
    """The Excel template, derived from the field schema."""
    stream = io.BytesIO()
    write_template(stream, upn_suffix=g.deployment.upn_suffix or None, deployment_name=g.deployment.name)
    stream.seek(0)
    return send_file(stream, mimetype=XLSX, as_attachment=True,
                     download_name=f"enlist-users-{g.deployment.code}.xlsx")


@bp.post("/")
def upload():
    """Stage an uploaded file; a file that cannot be read is explained and nothing is changed."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        error = "Choose a file first: an .xlsx or .csv with one user per row."
    else:
        try:
            batch = stage_upload(g.deployment, upload.stream, upload.filename, current_user)
        except DomainError as exc:
            error = exc.message
        else:
            return hx_redirect(url_for("imports.show", batch_id=batch.id))
    return render_template("imports/index.html", deployment=g.deployment, error=error,
                           batches=batches.list_batches(g.deployment)), 422


def _query() -> RowQuery:
    """The preview's state from the query string."""
    return RowQuery(errors_only=request.args.get("errors") == "1", q=request.args.get("q", "")[:100],
                    page=request.args.get("page", 1, type=int))


@bp.post("/catalog")
def from_catalog():
    """Stage the selected catalog entries (or all of them) for the same preview and fix-up."""
    ids = None if request.form.get("all") == "1" else [int(i) for i in request.form.getlist("entry") if i.isdigit()]
    try:
        batch = stage_catalog_entries(g.deployment, ids, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return hx_redirect(url_for("catalog.index", code=g.deployment.code))
    return hx_redirect(url_for("imports.show", batch_id=batch.id))


@bp.get("/<int:batch_id>")
def show(batch_id: int):
    """The preview: every row with its problems; only the table when htmx asks."""
    batch = batches.get_batch(g.deployment, batch_id)
    query = _query()
    context = dict(deployment=g.deployment, batch=batch, page=list_rows(batch, query), query=query)
    if is_htmx() and request.headers.get("HX-Target") == "rows-table":
        return render_template("imports/_table.html", **context)
    return render_template("imports/show.html", **context)


@bp.get("/<int:batch_id>/summary")
def summary(batch_id: int):
    """The kinds of problem with their counts and fix-all buttons (loaded after the page)."""
    batch = batches.get_batch(g.deployment, batch_id)
    return render_template("imports/_summary.html", deployment=g.deployment, batch=batch,
                           kinds=problem_summary(batch))


def _row_context(batch_id: int, row_number: int):
    """The batch and one of its rows."""
    batch = batches.get_batch(g.deployment, batch_id)
    return batch, batches.get_row(batch, row_number)


@bp.get("/<int:batch_id>/rows/<int:row_number>")
def row(batch_id: int, row_number: int):
    """One row, read-only."""
    batch, row = _row_context(batch_id, row_number)
    return render_template("imports/_row.html", deployment=g.deployment, batch=batch, row=row)


@bp.get("/<int:batch_id>/rows/<int:row_number>/edit")
def edit_row(batch_id: int, row_number: int):
    """One row as an inline form (the pencil)."""
    batch, row = _row_context(batch_id, row_number)
    return render_template("imports/_row_edit.html", deployment=g.deployment, batch=batch, row=row,
                           values=record_of(row))


@bp.put("/<int:batch_id>/rows/<int:row_number>")
def update_row(batch_id: int, row_number: int):
    """Save an inline edit: the row comes back checked again, the counts update out of band."""
    batch, row = _row_context(batch_id, row_number)
    values = {name: request.form.get(name, "") for name in FIELD_NAMES}
    batches.update_row(batch, row, values, current_user)
    template = "imports/_row_edit.html" if row.has_errors else "imports/_row.html"
    return render_template(template, deployment=g.deployment, batch=batch, row=row, values=record_of(row),
                           oob_counts=True), 422 if row.has_errors else 200, CHANGED


@bp.post("/<int:batch_id>/rows/<int:row_number>/fix")
def fix_row(batch_id: int, row_number: int):
    """Apply one suggested fix to one row."""
    batch, row = _row_context(batch_id, row_number)
    problem = next((p for p in row.problems if p["field"] == request.form.get("field")
                    and p["code"] == request.form.get("code")), None)
    if problem is None:
        abort(404)
    batches.update_row(batch, row, changes_for(problem, record_of(row)), current_user)
    return render_template("imports/_row.html", deployment=g.deployment, batch=batch, row=row,
                           oob_counts=True), 200, CHANGED


@bp.post("/<int:batch_id>/rows/<int:row_number>/skip")
def skip_row(batch_id: int, row_number: int):
    """Leave a row out of the import, or take it back in."""
    batch, row = _row_context(batch_id, row_number)
    batches.set_row_skipped(batch, row, request.form.get("skip", "1") == "1", current_user)
    return render_template("imports/_row.html", deployment=g.deployment, batch=batch, row=row,
                           oob_counts=True), 200, CHANGED


@bp.post("/<int:batch_id>/fix-all")
def fix_all(batch_id: int):
    """Apply one kind of suggested fix to every row like it."""
    batch = batches.get_batch(g.deployment, batch_id)
    changed = batches.fix_all(batch, request.form.get("field", ""), request.form.get("code", ""), current_user)
    flash(f"Fixed {changed} rows.", "success")
    return hx_redirect(url_for("imports.show", batch_id=batch.id, errors=request.args.get("errors")))


@bp.post("/<int:batch_id>/commit")
def commit(batch_id: int):
    """Save and import: draft users for the valid rows."""
    batch = batches.get_batch(g.deployment, batch_id)
    try:
        result = commit_batch(batch, current_user, only_valid=request.form.get("only_valid") == "1")
    except DomainError as exc:
        flash(exc.message, "error")
        return hx_redirect(url_for("imports.show", batch_id=batch.id))
    left = f" {result.left_with_errors} rows with errors stay here for later." if result.left_with_errors else ""
    flash(f"{result.imported} users imported as drafts.{left}", "success")
    return hx_redirect(url_for("users.index", code=g.deployment.code))


@bp.post("/<int:batch_id>/discard")
def discard(batch_id: int):
    """Give up a batch."""
    batches.discard_batch(batches.get_batch(g.deployment, batch_id), current_user)
    flash("Import discarded.", "info")
    return redirect(url_for("imports.index"))


@bp.get("/<int:batch_id>/problems.xlsx")
def error_report(batch_id: int):
    """The rows with their problems as a spreadsheet: invalid cells red, messages as comments."""
    batch = batches.get_batch(g.deployment, batch_id)
    stream = io.BytesIO()
    report.write_error_report(batch, stream, errors_only=request.args.get("errors") == "1")
    stream.seek(0)
    return send_file(stream, mimetype=XLSX, as_attachment=True, download_name=f"enlist-import-{batch.id}-problems.xlsx")
