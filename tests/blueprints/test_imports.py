"""Import from Excel through the pages and the API: upload, preview, fix-up, commit, bad files."""

import io
import re

import openpyxl
import pytest

from app.extensions import db
from app.models import ImportBatch, User
from app.services import operators

BASE = "/deployments/ACME/imports/"
HEADER = "First Name*,Last Name*,Email*,Username*,Phone*,Extension,Department\n"


def csv_file(*lines: str, name: str = "users.csv", header: str = HEADER):
    """An uploaded CSV file."""
    return (io.BytesIO((header + "\n".join(lines) + "\n").encode()), name)


@pytest.fixture()
def acme(make_deployment):
    return make_deployment("ACME", upn_suffix="acme.example")


def upload(auth, file):
    return auth.post(BASE, {"file": file}, page=BASE, content_type="multipart/form-data")


def test_the_plus_menu_leads_to_the_import_page_with_the_template(client, technician, acme):
    users_page = client.get("/deployments/ACME/users/").get_data(as_text=True)
    assert 'href="/deployments/ACME/imports/" data-source="excel"' in users_page
    page = client.get(BASE).get_data(as_text=True)
    assert "SELECT FILE" in page and "Download template" in page


def test_template_has_starred_mandatory_headers_and_text_phone_columns(client, technician, acme):
    response = client.get(BASE + "template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    headers = [c.value for c in book["Users"][1]]
    assert headers[:5] == ["First Name*", "Last Name*", "Email*", "Username*", "Phone*"]
    phone_col = headers.index("Phone*") + 1
    assert book["Users"].cell(row=2, column=phone_col).number_format == "@"
    assert "acme.example" in " ".join(str(c.value) for row in book["Instructions"].iter_rows() for c in row)


def test_upload_shows_triangles_counts_and_suggestions(client, auth, technician, acme):
    response = upload(auth, csv_file("Ann,Lee,ann@acme.example,alee,5551234567,,Sales",
                                     "Pat,O'Leary,pat@acme.example,poleary,(555) 123-4567,,Sales"))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>2</strong> rows" in page and "<strong>1</strong> with errors" in page
    assert page.count('class="triangle"') == 1 and "Use “OLeary”" in page and "Use “5551234567”" in page
    assert re.search(r'<button type="submit" class="primary" disabled', page)


def test_inline_fix_then_save_and_import(client, auth, technician, acme):
    location = upload(auth, csv_file("Ann,Lee,ann@acme.example,alee,5551234567,,Sales",
                                     "Pat,O'Leary,pat@acme.example,poleary,5551234567,,Sales")).headers["Location"]
    batch = db.session.scalar(db.select(ImportBatch))
    response = auth.htmx("PUT", f"{BASE}{batch.id}/rows/3", {"first_name": "Pat", "last_name": "OLeary",
                         "email": "pat@acme.example", "username": "poleary", "phone": "5551234567"}, page=location)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'hx-swap-oob="true"' in html and "<strong>0</strong> with errors" in html
    response = auth.post(f"{BASE}{batch.id}/commit", page=location)
    assert response.headers["Location"].endswith("/deployments/ACME/users/")
    users = db.session.scalars(db.select(User).order_by(User.username)).all()
    assert [(u.username, u.origin, u.status) for u in users] == [("alee", "excel", "draft"),
                                                                 ("poleary", "excel", "draft")]
    assert "2 users imported as drafts" in client.get("/deployments/ACME/users/").get_data(as_text=True)


def test_errors_only_filter_and_search(client, auth, technician, acme):
    location = upload(auth, csv_file(*[f"Ann,Lee{chr(97 + i)},a{i}@acme.example,a{i},1,," for i in range(5)],
                                     "Pat,O'Leary,pat@acme.example,poleary,1,,")).headers["Location"]
    table_only = {"HX-Request": "true", "HX-Target": "rows-table"}
    html = client.get(location + "?errors=1", headers=table_only).get_data(as_text=True)
    assert re.findall(r'<tr id="row-(\d+)"', html) == ["7"]
    html = client.get(location + "?q=leec", headers=table_only).get_data(as_text=True)
    assert re.findall(r'<tr id="row-(\d+)"', html) == ["4"]


def test_apply_fix_to_all(client, auth, technician, acme):
    location = upload(auth, csv_file("Ann,Lee,ann@acme.example,alee,(555) 111-2222,,",
                                     "Bo,Ray,bo@acme.example,bray,555.333.4444,,")).headers["Location"]
    summary = client.get(location + "/summary").get_data(as_text=True)
    assert "Apply the suggested fix to all 2 rows like it" in summary
    batch = db.session.scalar(db.select(ImportBatch))
    auth.post(f"{BASE}{batch.id}/fix-all", {"field": "phone", "code": "not_digits"}, page=location)
    db.session.refresh(batch)
    assert batch.error_rows == 0


def test_missing_mandatory_column_is_one_clear_error(client, auth, technician, acme):
    response = upload(auth, csv_file("Ann,Lee", header="First Name,Last Name\n"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "no column for Email*, Phone*" in html
    assert db.session.scalar(db.select(db.func.count(ImportBatch.id))) == 0


@pytest.mark.parametrize("content,name,message", [
    (b"", "users.csv", "empty"),
    (b"MZ\x90\x00\x03" + b"\x00" * 200, "users.xlsx", "not"),
    (b"PK\x03\x04garbage", "users.xlsx", ""),
    (b"First Name,Last Name\x00,Email\n", "users.csv", ""),
    (b"a,b", "users.xlsm", "macro"),
    (b"a,b", "users.pdf", "not an .xlsx or .csv"),
])
def test_bad_files_get_a_clear_message_and_change_nothing(client, auth, technician, acme, make_user, content, name,
                                                          message):
    make_user(acme, first_name="Ann", last_name="Lee")
    response = upload(auth, (io.BytesIO(content), name))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="upload-error"' in html
    assert message.lower() in html.lower()
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert db.session.scalar(db.select(db.func.count(ImportBatch.id))) == 0


def test_an_upload_over_the_size_limit_is_413_with_a_message(app, client, auth, technician, acme):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = upload(auth, (io.BytesIO(b"x" * (2 * 1024 * 1024)), "big.csv"))
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)


@pytest.fixture()
def bearer(app, make_operator):
    return {"Authorization": "Bearer " + operators.issue_api_token(make_operator("api@msp.example"), "tests")}


def test_api_import_round_trip(client, bearer, acme):
    data = {"file": csv_file("Ann,Lee,ann@acme.example,alee,5551234567,,",
                             "Pat,O'Leary,pat@acme.example,poleary,555 1234,,")}
    created = client.post("/api/v1/deployments/ACME/imports", data=data, headers=bearer,
                          content_type="multipart/form-data")
    body = created.json
    assert created.status_code == 201 and body["counts"]["rows"] == 2 and body["counts"]["errors"] == 1
    bad = body["rows"][1]
    assert bad["row"] == 3 and {e["field"] for e in bad["errors"]} == {"last_name", "phone"}
    assert {"field", "code", "message", "suggestion"} == set(bad["errors"][0])
    refused = client.post(f"/api/v1/imports/{body['id']}/commit", headers=bearer, json={})
    assert refused.status_code == 422 and "still have errors" in refused.json["error"]
    patched = client.patch(f"/api/v1/imports/{body['id']}/rows/3", headers=bearer,
                           json={"last_name": "OLeary", "phone": "5551234"})
    assert patched.status_code == 200 and patched.json["errors"] == [] and patched.json["counts"]["errors"] == 0
    committed = client.post(f"/api/v1/imports/{body['id']}/commit", headers=bearer, json={})
    assert committed.status_code == 200 and committed.json["imported"] == 2
    assert client.get(f"/api/v1/imports/{body['id']}", headers=bearer).json["state"] == "imported"


def test_api_bad_file_is_422_with_the_message(client, bearer, acme):
    response = client.post("/api/v1/deployments/ACME/imports", data={"file": (io.BytesIO(b""), "empty.csv")},
                           headers=bearer, content_type="multipart/form-data")
    assert response.status_code == 422 and "empty" in response.json["error"].lower()


def test_an_entra_bulk_create_file_is_understood(client, auth, technician, acme):
    header = ("Name [displayName] Required,User name [userPrincipalName] Required,"
              "Initial password [passwordProfile] Required,Block sign in (Yes/No) [accountEnabled] Required,"
              "First name [givenName],Last name [surname],Job title [jobTitle],Department [department],"
              "Usage location [usageLocation],Office phone [telephoneNumber]\n")
    line = "Ann Lee,ann.lee@acme.example,Secret-123,No,Ann,Lee,Nurse,Clinic,US,5551234567"
    location = upload(auth, csv_file(line, header=header)).headers["Location"]
    batch = db.session.scalar(db.select(ImportBatch))
    assert location.endswith(f"/imports/{batch.id}") and batch.error_rows == 0
    from app.services.staging.batches import get_row
    staged = get_row(batch, 2)
    assert (staged.username, staged.email, staged.job_title, staged.location) == \
        ("ann.lee", "ann.lee@acme.example", "Nurse", "")
    assert "Secret-123" not in client.get(location).get_data(as_text=True)
