"""The user form, generated from the field schema."""

from flask_wtf import FlaskForm
from wtforms import StringField

from app.services.user_schema import USER_FIELDS


def _user_form_class() -> type[FlaskForm]:
    """A FlaskForm with one text field per schema field; the shared validator checks the values."""
    fields = {
        f.name: StringField(f.label + (" *" if f.mandatory else ""), description=f.help,
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
        for f in USER_FIELDS
    }
    return type("UserForm", (FlaskForm,), fields)


UserForm = _user_form_class()


def attach_problems(form: FlaskForm, problems) -> None:
    """Show the validator's problems under the fields they concern."""
    for problem in problems:
        getattr(form, problem.field).errors = [*getattr(form, problem.field).errors, problem]
