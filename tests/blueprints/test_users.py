"""The Users page: table, search, sort, pages, inline edit, delete, manual creation, the + menu."""

import re

from app.extensions import db
from app.models import AuditEvent, User, UserStatus

PAGE = "/deployments/ACME/users/"


def rows_of(html: str) -> list[str]:
    """The ids of the user rows in a page or fragment."""
    return re.findall(r'<tr id="user-(\d+)"', html)


def test_table_lists_users_with_status_badges(client, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Ann Lee" in page and "ann.lee@acme.example" in page and 'badge-draft">draft' in page


def test_empty_users_page_explains_the_green_plus(client, technician, make_deployment):
    make_deployment("ACME")
    assert "No users yet" in client.get(PAGE).get_data(as_text=True)


def test_plus_menu_lists_five_ways_with_reasons_for_the_disabled_ones(client, technician, make_deployment):
    make_deployment("ACME")
    page = client.get(PAGE).get_data(as_text=True)
    for label in ("Import from catalog", "Import from Excel", "Import from ConnectWise", "Import from Zendesk",
                  "Add manually"):
        assert label in page
    assert 'href="/deployments/ACME/users/new" data-source="manual"' in page
    assert "The catalog is empty" in page and 'aria-disabled="true"' in page


def test_search_as_you_type_returns_only_the_table(client, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    ann = make_user(deployment, first_name="Ann", last_name="Lee")
    make_user(deployment, first_name="Bo", last_name="Ray")
    response = client.get(PAGE + "?q=lee", headers={"HX-Request": "true", "HX-Target": "users-table"})
    html = response.get_data(as_text=True)
    assert rows_of(html) == [str(ann.id)] and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_search_treats_percent_and_underscore_literally(client, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    assert rows_of(client.get(PAGE + "?q=%25").get_data(as_text=True)) == []


def test_sort_and_pages(client, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    names = ["Adams", "Baker", "Clark", "Davis"]
    ids = {n: make_user(deployment, first_name="Pat", last_name=n).id for n in names}
    html = client.get(PAGE + "?sort=name&dir=desc&per_page=2").get_data(as_text=True)
    assert rows_of(html) == [str(ids["Davis"]), str(ids["Clark"])]
    html = client.get(PAGE + "?sort=name&dir=desc&per_page=2&page=2").get_data(as_text=True)
    assert rows_of(html) == [str(ids["Baker"]), str(ids["Adams"])]


def test_status_filter(client, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    bo = make_user(deployment, first_name="Bo", last_name="Ray")
    bo.status = UserStatus.FAILED
    db.session.commit()
    assert rows_of(client.get(PAGE + "?status=failed").get_data(as_text=True)) == [str(bo.id)]


def test_pencil_opens_the_row_as_a_form_and_save_swaps_the_row_back(client, auth, technician, make_deployment,
                                                                    make_user):
    deployment = make_deployment("ACME")
    user = make_user(deployment, first_name="Ann", last_name="Lee")
    edit = client.get(f"{PAGE}{user.id}/edit", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'class="editing"' in edit and 'name="last_name" value="Lee"' in edit
    values = {"first_name": "Ann", "last_name": "Lee-Smith", "email": user.email, "username": user.username,
              "phone": "5550001111"}
    response = auth.htmx("PUT", f"{PAGE}{user.id}", values, page=PAGE)
    assert response.status_code == 200
    assert "Ann Lee-Smith" in response.get_data(as_text=True) and 'class="saved"' in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.last_name == "Lee-Smith"
    audited = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert audited.actor == "tech@msp.example"


def test_inline_save_with_errors_answers_422_with_the_messages_and_keeps_the_saved_user(
        client, auth, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    user = make_user(deployment, first_name="Ann", last_name="Lee")
    values = {"first_name": "Ann", "last_name": "O'Lee", "email": user.email, "username": user.username,
              "phone": "(555) 000"}
    response = auth.htmx("PUT", f"{PAGE}{user.id}", values, page=PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "letters, spaces and hyphens" in html and 'data-value="OLee"' in html and 'data-value="555000"' in html
    db.session.refresh(user)
    assert user.last_name == "Lee"


def test_a_username_used_by_another_user_is_refused(client, auth, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee", username="alee")
    bo = make_user(deployment, first_name="Bo", last_name="Ray")
    values = {"first_name": "Bo", "last_name": "Ray", "email": bo.email, "username": "ALEE", "phone": "1"}
    response = auth.htmx("PUT", f"{PAGE}{bo.id}", values, page=PAGE)
    assert response.status_code == 422 and "already used by the user Ann Lee" in response.get_data(as_text=True)


def test_delete_removes_the_user_and_records_it(client, auth, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    user_id = make_user(deployment, first_name="Ann", last_name="Lee").id
    response = auth.htmx("DELETE", f"{PAGE}{user_id}", page=PAGE)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    db.session.expunge_all()
    assert db.session.get(User, user_id) is None
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.delete"))


def test_a_user_in_the_cloud_cannot_be_deleted_or_edited_here(client, auth, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    user = make_user(deployment, first_name="Ann", last_name="Lee")
    user.status = UserStatus.IN_CLOUD
    db.session.commit()
    response = auth.htmx("DELETE", f"{PAGE}{user.id}", page=PAGE)
    assert response.status_code == 409 and db.session.get(User, user.id) is not None


def test_another_deployments_user_is_not_found(client, auth, technician, make_deployment, make_user):
    make_deployment("ACME")
    other = make_user(make_deployment("BETA", "Beta"), first_name="Ann", last_name="Lee")
    assert client.get(f"{PAGE}{other.id}/edit").status_code == 404


def test_add_manually_creates_a_draft_user(client, auth, technician, make_deployment):
    make_deployment("ACME")
    form = client.get(PAGE + "new").get_data(as_text=True)
    assert "First name *" in form and 'hx-post="/deployments/ACME/users/validate"' in form
    response = auth.post(PAGE + "new", {"first_name": "Zoë", "last_name": "Núñez", "email": "zoe@acme.example",
                                        "username": "zoe.nunez", "phone": "5551234567", "department": "Sales"})
    assert response.status_code == 303
    user = db.session.scalar(db.select(User))
    assert (user.first_name, user.status, user.origin) == ("Zoë", "draft", "manual")


def test_add_manually_with_errors_shows_them_and_creates_nothing(client, auth, technician, make_deployment):
    make_deployment("ACME")
    response = auth.post(PAGE + "new", {"first_name": "Pat", "last_name": "O'Leary", "email": "pat@acme.example",
                                        "phone": "555-1234"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-value="OLeary"' in html and "Username is mandatory" in html and 'data-value="pat.oleary"' in html
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_inline_validation_answers_for_one_field(client, auth, technician, make_deployment):
    make_deployment("ACME")
    response = auth.htmx("POST", PAGE + "validate",
                         {"_field": "last_name", "first_name": "Pat", "last_name": "O'Leary"},
                         page=PAGE + "new")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="last_name-feedback"' in html and "OLeary" in html
    assert "First name" not in html
