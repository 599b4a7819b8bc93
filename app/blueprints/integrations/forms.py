"""The integration account forms: one per provider, several on one page (each with its own prefix)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.services.integration_imports.accounts import SETTINGS
from app.services.integrations import CONNECTWISE, ZENDESK

KEEP_SAVED = "Stored encrypted and never shown again. Leave empty to keep the saved one."


class AccountForm(FlaskForm):
    """What both providers' forms share; the page's csrf_token input is checked by CSRFProtect."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST of the app; the template carries the token

    provider = ""
    secret_field = ""
    name = StringField("Name", validators=[DataRequired(), Length(max=120)],
                       description="How Enlist names this account, e.g. “ConnectWise” or “Help desk”.")

    def settings(self) -> dict:
        """The non-secret settings as typed."""
        return {name: (self[name].data or "").strip() for name in SETTINGS[self.provider]}

    def secret(self) -> str | None:
        """The typed key or token, None when left empty (keep the saved one)."""
        return (self[self.secret_field].data or "").strip() or None


class ConnectWiseAccountForm(AccountForm):
    """ConnectWise Manage: site, company id, API member keys and the integrator's client id."""

    provider, secret_field = CONNECTWISE, "private_key"
    site = StringField("Site", validators=[DataRequired(), Length(max=255)],
                       description="The address you sign in at: na.myconnectwise.net, or your own server.")
    company_id = StringField("Company id", validators=[DataRequired(), Length(max=100)],
                             description="The company you type at the ConnectWise login.")
    public_key = StringField("Public key", validators=[DataRequired(), Length(max=100)],
                             description="Of the API member's key (System › Members › API Members).")
    private_key = PasswordField("Private key", validators=[Optional(), Length(max=200)], description=KEEP_SAVED)
    client_id = StringField("Client id", validators=[DataRequired(), Length(max=100)],
                            description="Your clientId from developer.connectwise.com.")


class ZendeskAccountForm(AccountForm):
    """Zendesk Support: subdomain, the agent's email and an API token."""

    provider, secret_field = ZENDESK, "api_token"
    subdomain = StringField("Subdomain", validators=[DataRequired(), Length(max=255)],
                            description="acme for acme.zendesk.com.")
    email = StringField("Agent email", validators=[DataRequired(), Email(), Length(max=254)],
                        description="The agent or admin the API token belongs to.")
    api_token = PasswordField("API token", validators=[Optional(), Length(max=200)], description=KEEP_SAVED)


FORMS = {CONNECTWISE: ConnectWiseAccountForm, ZENDESK: ZendeskAccountForm}


def account_form(provider: str, account=None, formdata=None) -> AccountForm:
    """The form of a new account of a provider, or of a saved one (its settings filled in, never its secret)."""
    prefix = f"account-{account.id}" if account is not None else f"new-{provider}"
    data = {"name": account.name, **(account.settings or {})} if account is not None else {}
    return FORMS[provider](formdata=formdata, prefix=prefix, data=data)
