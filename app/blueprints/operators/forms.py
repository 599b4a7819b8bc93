"""Forms to add an operator and to issue an API token."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.services.operators import MIN_PASSWORD


class OperatorForm(FlaskForm):
    """A new technician or admin."""

    name = StringField("Name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=MIN_PASSWORD)])
    role = SelectField("Role", choices=[SelectChoice("technician", "Technician"), SelectChoice("admin", "Admin")])


class TokenForm(FlaskForm):
    """A name for a new personal API token."""

    name = StringField("Token name", validators=[DataRequired(), Length(max=120)],
                       description="What will use it, e.g. 'RMM script'.")
