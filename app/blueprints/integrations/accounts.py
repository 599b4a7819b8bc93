"""Admin pages of the integration accounts: list, add, edit, delete, Test connection."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import admin_required
from app.blueprints.integrations import bp
from app.blueprints.integrations.forms import account_form
from app.services.errors import DomainError
from app.services.integration_imports import accounts
from app.services.integrations import PROVIDERS


def _index(failed=None, status: int = 200):
    """The page: every account with its edit form, and a form to add one per provider (failed one kept)."""
    def form_for(provider, account=None):
        form = account_form(provider, account)
        return failed if failed is not None and failed._prefix == form._prefix else form

    cards = [(a, form_for(a.provider, a)) for a in accounts.list_accounts()]
    new_forms = {p: form_for(p) for p in PROVIDERS}
    return render_template("integrations/index.html", cards=cards, new_forms=new_forms, labels=accounts.LABELS,
                           link_counts=accounts.link_counts(), failed=failed), status


@bp.get("/integrations/")
@admin_required
def index():
    """The ConnectWise and Zendesk accounts."""
    return _index()


def _save(provider: str, account=None):
    """Validate and save one form; the page again with its errors when refused."""
    form = account_form(provider, account, formdata=request.form)
    if form.validate():
        try:
            saved = accounts.save_account(account, provider, form.name.data, form.settings(), form.secret(),
                                          current_user)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(f"{saved.provider_label} account {saved.name} saved.", "success")
            return redirect(url_for("integrations.index"), code=303)
    return _index(failed=form, status=422)


@bp.post("/integrations/accounts")
@admin_required
def create_account():
    """Add a ConnectWise or Zendesk account."""
    provider = request.form.get("provider", "")
    if provider not in PROVIDERS:
        abort(404)
    return _save(provider)


@bp.post("/integrations/accounts/<int:account_id>")
@admin_required
def update_account(account_id: int):
    """Change an account's settings; an empty key or token keeps the saved one."""
    account = accounts.get_account(account_id)
    return _save(account.provider, account)


@bp.post("/integrations/accounts/<int:account_id>/delete")
@admin_required
def delete_account(account_id: int):
    """Delete an account (the deployments it linked are unlinked)."""
    account = accounts.get_account(account_id)
    name, unlinked = account.name, accounts.delete_account(account, current_user)
    flash(f"Account {name} deleted; {unlinked} deployment link(s) removed.", "info")
    return redirect(url_for("integrations.index"), code=303)


@bp.post("/integrations/accounts/test")
@admin_required
def test_account():
    """Test connection with the settings as typed (htmx): the outcome in plain words."""
    provider = request.form.get("provider", "")
    if provider not in PROVIDERS:
        abort(404)
    account_id = request.form.get("account_id", type=int)
    account = accounts.get_account(account_id, provider) if account_id else None
    form = account_form(provider, account, formdata=request.form)
    check = accounts.check_connection(provider, form.settings(), form.secret(), account)
    return render_template("integrations/_check.html", check=check, target=form._prefix.rstrip("-"))
