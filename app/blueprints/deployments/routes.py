"""List, create, show and edit deployments."""

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user

from app.blueprints.deployments import bp
from app.blueprints.deployments.forms import DeploymentForm
from app.services import deployments
from app.services.errors import DomainError


@bp.get("/")
def index():
    """Every client, with its users per status."""
    rows = [(d, deployments.status_counts(d)) for d in deployments.list_deployments()]
    return render_template("deployments/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a deployment."""
    form = DeploymentForm()
    if form.validate_on_submit():
        try:
            settings = form.settings()
            name = settings.pop("name")
            deployment = deployments.create_deployment(form.code.data, name, current_user, **settings)
        except DomainError as exc:
            form.code.errors.append(exc.message)
        else:
            flash(f"Deployment {deployment.code} created.", "success")
            return redirect(url_for("deployments.show", code=deployment.code))
    return render_template("deployments/form.html", form=form, creating=True), 422 if form.errors else 200


@bp.get("/<code>")
def show():
    """The deployment's dashboard: users per status and whether it is on cloud."""
    deployment = g.deployment
    return render_template("deployments/show.html", deployment=deployment,
                           counts=deployments.status_counts(deployment),
                           not_ready=deployments.cloud_readiness(deployment))


@bp.route("/<code>/edit", methods=["GET", "POST"])
def edit():
    """Edit the client's details and directory connection."""
    deployment = g.deployment
    form = DeploymentForm(obj=deployment)
    form.code.data = deployment.code
    if form.validate_on_submit():
        try:
            deployments.update_deployment(deployment, current_user, **form.settings())
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("deployments.show", code=deployment.code))
    return render_template("deployments/form.html", form=form, creating=False,
                           deployment=deployment), 422 if form.errors else 200
