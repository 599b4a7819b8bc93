"""Cross-cutting web behaviour: sign-in loading, security headers, error pages, template helpers."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import login_manager
from app.models import UserStatus
from app.services import operators
from app.services.errors import DomainError
from app.services.user_schema import USER_FIELDS

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")


def wants_json() -> bool:
    """API calls answer JSON; pages answer HTML."""
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Install the hooks, handlers and template globals."""
    if app.config.get("ENLIST_TRUSTED_PROXIES"):
        n = app.config["ENLIST_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    @login_manager.user_loader
    def load_operator(session_id: str):
        return operators.operator_by_session_id(session_id)

    from app.blueprints.access import require_sign_in

    app.before_request(require_sign_in)

    @app.before_request
    def keep_session_fresh():
        from flask import session

        session.permanent = True  # idle sessions expire after PERMANENT_SESSION_LIFETIME

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
            response.vary.add("HX-Request")
        return response

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if wants_json():
            return jsonify(error=exc.message), exc.status
        return render_template("error.html", code=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = _plain_message(exc)
        if wants_json():
            response = jsonify(error=message)
        else:
            template = "_error_fragment.html" if request.headers.get("HX-Request") else "error.html"
            response = app.make_response((render_template(template, code=exc.code, message=message), exc.code))
        response.status_code = exc.code or 500
        if exc.code == 429 and getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        for name in ("Retry-After", "WWW-Authenticate", "Allow"):
            if exc.get_response().headers.get(name) and name not in response.headers:
                response.headers[name] = exc.get_response().headers[name]
        return response

    app.jinja_env.globals.update(USER_FIELDS=USER_FIELDS, UserStatus=UserStatus, current_user=current_user)


def _plain_message(exc: HTTPException) -> str:
    """What a technician reads for an HTTP error."""
    from flask import current_app
    from flask_wtf.csrf import CSRFError

    if isinstance(exc, CSRFError):
        return "This form has expired or was not sent by the portal. Reload the page and try again."
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    messages = {
        400: "The request could not be understood.",
        401: "Sign in or send a valid API token.",
        403: "You do not have permission to do this.",
        404: "This page does not exist.",
        405: "This action is not allowed here.",
        413: f"The upload is too large: the limit is {limit_mb} MB.",
        429: "Too many attempts. Wait a minute and try again.",
    }
    return messages.get(exc.code, exc.description or "Something went wrong.")
