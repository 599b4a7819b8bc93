"""The results file of a send: every user with outcome and reason, as .xlsx or .csv, formula-safe."""

from __future__ import annotations

import io
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import CloudSend, ProvisionTask
from app.services.provisioning.progress import column_labels
from app.services.spreadsheet.export import write_csv, write_xlsx

HEADERS = ("Name", "Username", "Sign-in name (UPN)", "Email", "Outcome", "Reason", "Step reached",
           "Attempts", "Distinguished name", "objectGUID", "Welcome email", "Error code")
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
_OUTCOME_WORDS = {"queued": "waiting", "retrying": "waiting (retrying)", "running": "in progress"}


def result_rows(send: CloudSend) -> Iterator[tuple[str, ...]]:
    """One row per task of the send, by name; passwords are never part of it."""
    labels = column_labels(send.action)
    suffix = send.deployment.upn_suffix.lstrip("@")
    query = (sa.select(ProvisionTask).where(ProvisionTask.send_id == send.id)
             .options(selectinload(ProvisionTask.user)).order_by(ProvisionTask.full_name, ProvisionTask.id))
    for task in db.session.scalars(query):
        user = task.user
        outcome = labels.get(task.outcome) or _OUTCOME_WORDS.get(task.outcome, task.outcome)
        yield (task.full_name, task.username, f"{task.username}@{suffix}" if suffix else "",
               user.email if user else "", outcome, task.message, task.step, str(task.attempts),
               user.ad_dn if user else "", user.object_guid if user else "", task.email_state,
               task.error_code)


def results_file(send: CloudSend, fmt: str) -> tuple[bytes, str, str]:
    """The file's bytes, its MIME type and its download name."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    stream = io.BytesIO()
    writer = write_xlsx if fmt == "xlsx" else write_csv
    if fmt == "xlsx":
        writer(stream, HEADERS, result_rows(send), sheet_title=f"Send {send.id}")
    else:
        writer(stream, HEADERS, result_rows(send))
    name = f"enlist-{send.deployment.code}-send-{send.id}-results.{fmt}"
    return stream.getvalue(), FORMATS[fmt], name


def password_file(rows, fmt: str, send: CloudSend) -> tuple[bytes, str, str]:
    """The one-time download of a send's initial passwords."""
    from app.services.provisioning.passwords import HEADERS as PASSWORD_HEADERS

    stream = io.BytesIO()
    if fmt == "xlsx":
        write_xlsx(stream, PASSWORD_HEADERS, (r.cells() for r in rows), sheet_title="Initial passwords")
    else:
        write_csv(stream, PASSWORD_HEADERS, (r.cells() for r in rows))
    name = f"enlist-{send.deployment.code}-send-{send.id}-initial-passwords.{fmt}"
    return stream.getvalue(), FORMATS[fmt], name
