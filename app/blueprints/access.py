"""Who may reach what: sign-in for every page, admin-only areas, deployment-scoped URLs."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from app.services import deployments, operators

# Endpoints reachable without signing in; the API authenticates with bearer tokens itself.
PUBLIC_ENDPOINTS = {"auth.sign_in", "auth.setup", "main.health", "static"}


def require_sign_in():
    """Before every request: first-run setup, then sign-in, for every page but the public ones."""
    endpoint = request.endpoint or ""
    if endpoint.startswith("api.") or endpoint in PUBLIC_ENDPOINTS:
        return None
    if operators.needs_setup():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return None
    target = url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def admin_required(view):
    """Only admins: technicians get 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    wrapper.admin_only = True  # the access tests find every admin-only route by this mark
    return wrapper


def is_admin_only(view) -> bool:
    """Whether a view function was wrapped by admin_required."""
    return bool(getattr(view, "admin_only", False))


def scope_to_deployment(bp) -> None:
    """Routes of bp that take <code> get the deployment as g.deployment (404 for an unknown code)."""

    @bp.url_value_preprocessor
    def load_deployment(endpoint, values):
        if values and "code" in values:
            code = values.pop("code")
            # Anonymous callers are sent to sign in before any lookup: a 404 would tell them which codes exist.
            if current_user.is_authenticated:
                g.deployment = deployments.get_by_code(code)

    @bp.url_defaults
    def add_code(endpoint, values):
        if "code" not in values and getattr(g, "deployment", None) is not None:
            values["code"] = g.deployment.code


def is_htmx() -> bool:
    """Whether the request was made by htmx (and wants a fragment)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def hx_redirect(url: str):
    """Redirect a page or an htmx request alike."""
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, code=303)
