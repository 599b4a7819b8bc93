"""Operators list for admins; personal API tokens for everyone."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.blueprints.access import admin_required
from app.blueprints.operators import bp
from app.blueprints.operators.forms import OperatorForm, TokenForm
from app.extensions import db
from app.models import ApiToken, Operator
from app.services import audit, operators
from app.services.errors import DomainError


@bp.route("/operators", methods=["GET", "POST"])
@admin_required
def index():
    """Every operator, and a form to add one."""
    form = OperatorForm()
    if form.validate_on_submit():
        try:
            operator = operators.create_operator(form.email.data, form.password.data, role=form.role.data,
                                                 name=form.name.data or "", actor=current_user)
        except DomainError as exc:
            form.email.errors.append(exc.message)
        else:
            flash(f"{operator.email} can now sign in.", "success")
            return redirect(url_for("operators.index"))
    people = db.session.scalars(sa.select(Operator).order_by(Operator.email))
    return render_template("operators/index.html", operators=people, form=form), 422 if form.errors else 200


@bp.post("/operators/<int:operator_id>/active")
@admin_required
def toggle_active(operator_id: int):
    """Disable or re-enable an operator (their sessions end at once)."""
    operator = db.session.get(Operator, operator_id) or abort(404)
    if operator.id == current_user.id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("operators.index"))
    operator.active = not operator.active
    operator.session_version += 1
    audit.record(current_user, "operator.enable" if operator.active else "operator.disable", obj=operator,
                 summary=operator.email)
    db.session.commit()
    return redirect(url_for("operators.index"))


@bp.route("/account/tokens", methods=["GET", "POST"])
def tokens():
    """The signed-in operator's API tokens; a new one is shown once."""
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token = operators.issue_api_token(current_user, form.name.data)
        form.name.data = ""
    rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.operator_id == current_user.id)
                              .order_by(ApiToken.created_at.desc()))
    return render_template("operators/tokens.html", form=form, tokens=rows, new_token=new_token)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of my tokens."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.operator_id != current_user.id:
        abort(404)
    operators.revoke_api_token(token_id, current_user)
    flash(f"Token {row.name} revoked.", "success")
    return redirect(url_for("operators.tokens"))
