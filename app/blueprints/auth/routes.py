"""Sign-in (rate limited), sign-out, and the first-run setup page."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.blueprints.auth import bp
from app.blueprints.auth.forms import SetupForm, SignInForm
from app.extensions import limiter
from app.services import audit, operators
from app.services.errors import DomainError


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("deployments.index")


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first administrator; gone once any operator exists."""
    if not operators.needs_setup():
        return redirect(url_for("auth.sign_in"))
    form = SetupForm()
    if form.validate_on_submit():
        try:
            operator = operators.create_operator(form.email.data, form.password.data, role="admin",
                                                 name=form.name.data or "")
        except DomainError as exc:
            form.email.errors.append(exc.message)
        else:
            login_user(operator)
            flash("Welcome to Enlist. Create a deployment for your first client.", "success")
            return redirect(url_for("deployments.new"))
    return render_template("auth/setup.html", form=form), 422 if form.errors else 200


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ENLIST_LOGIN_LIMIT"], methods=["POST"])
def sign_in():
    """Check the credentials and start a session."""
    form = SignInForm()
    if form.validate_on_submit():
        operator = operators.authenticate(form.email.data, form.password.data)
        if operator is None:
            audit.record(form.email.data[:254], "operator.sign_in", outcome="failed")
            from app.extensions import db

            db.session.commit()
            form.password.errors.append("Wrong email or password.")
        else:
            session.clear()  # a fresh session on sign-in: no fixation
            login_user(operator)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/sign_in.html", form=form), 422 if form.errors else 200


@bp.post("/sign-out")
def sign_out():
    """End the session, and with it every copy of its cookie (see operators.end_sessions)."""
    if current_user.is_authenticated:
        operators.end_sessions(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.sign_in"))
