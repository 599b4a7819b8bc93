"""The forms of the Discovery page: a token's name, and the source domain of network discovery."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class TokenForm(FlaskForm):
    """Name a new discovery token."""

    name = StringField("What the token is for", validators=[Optional(), Length(max=120)],
                       description="For example: RMM roll-out, or Leeds office PCs.")


class NetworkSourceForm(FlaskForm):
    """The client's existing domain: how to reach it read-only, where to look, what to skip."""

    ldaps_url = StringField("Domain controller URL", validators=[Optional(), Length(max=255)],
                            description="ldaps://dc1.client.local:636")
    bind_user = StringField("Read-only account", validators=[Optional(), Length(max=255)],
                            description="Any domain user can read the directory: enlist-read@client.local")
    bind_password = PasswordField("Password", validators=[Optional(), Length(max=256)],
                                  description="Stored encrypted. Leave empty to keep the saved one.")
    search_base = StringField("Search base", validators=[Optional(), Length(max=255)],
                              description="The domain (DC=client,DC=local) or an OU of it.")
    ca_cert = TextAreaField("CA certificate (PEM)", validators=[Optional()],
                            description="The CA that signed the domain controller's certificate; empty: the "
                                        "system's trusted CAs.")
    tls_server_name = StringField("Certificate name", validators=[Optional(), Length(max=255)],
                                  description="The name on the DC's certificate, when the URL uses an address.")
    verify_tls = BooleanField("Verify the domain controller's certificate", default=True)
    skip_builtin = BooleanField("Skip built-in accounts", default=True)
    skip_service = BooleanField("Skip service accounts", default=True)
    skip_disabled = BooleanField("Skip disabled accounts", default=True)
    service_patterns = TextAreaField("Service account names", validators=[Optional()],
                                     description="One pattern per line; * matches anything (svc*, *_svc).")

    def settings(self) -> dict:
        """The values as the network discovery service takes them."""
        names = ("ldaps_url", "bind_user", "search_base", "ca_cert", "tls_server_name", "verify_tls",
                 "skip_builtin", "skip_service", "skip_disabled", "service_patterns")
        return {**{name: getattr(self, name).data for name in names},
                "bind_password": self.bind_password.data or None}
