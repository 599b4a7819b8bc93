"""The deployment form: the client, and its directory connection."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.models.deployment import PASSWORD_MODES, WELCOME_EMAILS
from app.services.naming import NAMING_POLICIES


class DeploymentForm(FlaskForm):
    """Create or edit a deployment."""

    code = StringField("Short code", validators=[DataRequired(), Regexp(r"^[A-Za-z0-9]{3,6}$",
                       message="3 to 6 letters or digits.")],
                       description="3 to 6 letters or digits, used in OU and group names. Cannot change later.")
    name = StringField("Client name", validators=[DataRequired(), Length(max=120)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])
    ldaps_url = StringField("Directory URL", validators=[Optional(), Length(max=255)],
                            description="ldaps://dc1.client.local:636")
    fallback_urls = TextAreaField("Fallback URLs", validators=[Optional()],
                                  description="Other domain controllers, one ldaps:// URL per line.")
    bind_user = StringField("Bind user", validators=[Optional(), Length(max=255)],
                            description="The service account: CN=svc-enlist,OU=Service,DC=client,DC=local "
                                        "or svc-enlist@client.local")
    bind_password = PasswordField("Bind password", validators=[Optional(), Length(max=256)],
                                  description="Stored encrypted. Leave empty to keep the saved one.")
    ca_cert = TextAreaField("CA certificate (PEM)", validators=[Optional()],
                            description="The certificate of the CA that signed the domain controller's "
                                        "certificate.")
    verify_tls = BooleanField("Verify the domain controller's certificate", default=True)
    base_ou = StringField("Base DN", validators=[Optional(), Length(max=255)],
                          description="DC=client,DC=local")
    users_ou = StringField("Target OU", validators=[Optional(), Length(max=255)],
                           description="Empty: OU=Users,OU=<code>,<base DN> (created if missing).")
    upn_suffix = StringField("UPN suffix", validators=[Optional(), Length(max=255)],
                             description="client.com: users sign in as username@client.com")
    default_groups = TextAreaField("Default groups", validators=[Optional()],
                                   description="One group per line (name or DN).")
    naming_policy = SelectField("Username policy", choices=[SelectChoice(k, v) for k, v in NAMING_POLICIES.items()])
    tls_server_name = StringField("Certificate name", validators=[Optional(), Length(max=255)],
                                  description="The name on the DC's certificate, when the URL uses an address "
                                              "or another name (dc1.client.local).")
    password_mode = SelectField("Initial passwords", choices=[SelectChoice(k, v) for k, v in PASSWORD_MODES.items()],
                                default="generated")
    must_change_password = BooleanField("Users must change the password at next sign-in", default=True)
    password_never_expires = BooleanField("Password never expires")
    account_expires = DateField("Account expires after", validators=[Optional()],
                                description="Empty: never. The account works through this day (UTC).")
    extension_in_phone = BooleanField("Write the extension into the phone number (5551234 x12) instead of ipPhone")
    welcome_email = SelectField("Welcome email", choices=[SelectChoice(k, v) for k, v in WELCOME_EMAILS.items()],
                                default="",
                                description="Sent through the portal's SMTP server to each new user's email.")

    def settings(self) -> dict:
        """The editable settings as the deployments service takes them."""
        names = ("name", "notes", "ldaps_url", "fallback_urls", "bind_user", "ca_cert", "verify_tls",
                 "base_ou", "users_ou", "upn_suffix", "default_groups", "naming_policy", "tls_server_name",
                 "password_mode", "must_change_password", "password_never_expires", "extension_in_phone",
                 "welcome_email")
        values = {name: getattr(self, name).data for name in names}
        values["account_expires"] = self.account_expires.data.isoformat() if self.account_expires.data else ""
        values["bind_password"] = self.bind_password.data or None
        return values
