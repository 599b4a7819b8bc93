"""Enlist: bring an MSP client's end users into Active Directory."""

from __future__ import annotations

import logging
import os

from flask import Flask

from app.config import Config


def create_app(config: type | dict | None = None) -> Flask:
    """Build the Flask application from a config class (Config by default) or a mapping."""
    app = Flask(__name__, instance_path=os.environ.get("ENLIST_INSTANCE_PATH") or None,
                instance_relative_config=True)
    if isinstance(config, dict):
        app.config.from_object(Config)
        app.config.update(config)
    else:
        app.config.from_object(config or Config)
    os.makedirs(app.instance_path, exist_ok=True)
    _configure(app)
    _init_extensions(app)
    _register_blueprints(app)

    from app import cli, web

    web.init_app(app)
    cli.init_app(app)
    return app


def _configure(app: Flask) -> None:
    """Fill the settings that default to files of the instance folder."""
    from app.services.secrets import instance_secret

    if not app.config.get("SECRET_KEY"):
        import secrets

        app.config["SECRET_KEY"] = instance_secret(app.instance_path, "session.key",
                                                   lambda: secrets.token_urlsafe(48))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "enlist.db")
    logging.getLogger("enlist").setLevel(logging.INFO)


def _init_extensions(app: Flask) -> None:
    """Bind the unbound extensions and the app's own services."""
    from app import models  # noqa: F401  (every table registered before migrations run)
    from app.extensions import csrf, db, htmx, limiter, login_manager, migrate
    from app.services import database, queue, secrets

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    secrets.init_app(app)
    queue.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", queue.limiter_storage_uri(app.config["REDIS_URL"]))
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"


def _register_blueprints(app: Flask) -> None:
    """One blueprint per area."""
    from app.blueprints.api import bp as api_bp
    from app.blueprints.audit import bp as audit_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.catalog import bp as catalog_bp
    from app.blueprints.cloud import bp as cloud_bp
    from app.blueprints.deployments import bp as deployments_bp
    from app.blueprints.discovery import bp as discovery_bp
    from app.blueprints.imports import bp as imports_bp
    from app.blueprints.integrations import bp as integrations_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.operators import bp as operators_bp
    from app.blueprints.users import bp as users_bp

    for bp in (main_bp, auth_bp, deployments_bp, users_bp, imports_bp, catalog_bp, cloud_bp, audit_bp,
               operators_bp, integrations_bp, discovery_bp, api_bp):
        app.register_blueprint(bp)
