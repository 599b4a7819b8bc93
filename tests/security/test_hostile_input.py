"""Hostile input through the pages and the API: each value stored or refused as the rules say, rendered
inert (checked on the HTML here, in a real browser in tests/e2e/test_hostile_browser.py), escaped in LDAP,
neutralised in every export; malformed uploads refused through the page and the API."""

from __future__ import annotations

import csv
import html
import io
import struct
import zipfile
from datetime import UTC
from html.parser import HTMLParser

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CatalogEntry, ImportBatch, ImportRow, User
from app.services import operators
from app.services.spreadsheet.export import FORMULA_TRIGGERS
from tests.security.hostile import HOSTILE, PROBE, STORED, Hostile

FIELD_OF_KIND = {"name": "first_name", "username": "username", "text": "department"}


def cases():
    """(hostile value, kind) pairs."""
    for h in HOSTILE:
        for kind in FIELD_OF_KIND:
            yield pytest.param(h, kind, id=f"{kind}-{h.label}")


def record(i: int = 0, **fields) -> dict:
    """A valid record; fields override."""
    return {"first_name": "Ann", "last_name": "Lee", "email": f"ann{i}@acme.example", "username": f"alee{i}",
            "phone": "5551234567", **fields}


def outcome(problems: list[dict], field: str) -> str:
    """'stored', or the codes of the field's errors."""
    codes = [p["code"] for p in problems if p["field"] == field]
    return STORED if not codes else " ".join(codes)


def assert_as_the_rules_say(h: Hostile, kind: str, got: str, stored_value: str | None) -> None:
    expected = getattr(h, kind)
    if expected == STORED:
        assert got == STORED, f"{h.label} as {kind}: refused ({got}) but the rules allow it"
        assert stored_value == h.stored, f"{h.label} as {kind}: stored as {stored_value!r}"
    else:
        assert expected in got.split(), f"{h.label} as {kind}: expected {expected}, got {got}"


@pytest.fixture()
def acme(make_deployment):
    return make_deployment("ACME", upn_suffix="acme.example")


@pytest.fixture()
def bearer(make_operator):
    return {"Authorization": "Bearer " + operators.issue_api_token(make_operator("api@msp.example"), "tests")}


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


# Attributes whose value is only ever text to the browser (a hostile value may sit there, escaped).
TEXT_ATTRIBUTES = {"value", "title", "aria-label", "data-value", "hx-confirm", "placeholder", "alt"}


def assert_inert(page: str, where: str) -> None:
    """No element, attribute or script of the page comes from a hostile value."""
    parsed = Elements(page)
    for tag, attrs in parsed.found:
        injected = [k for k, v in attrs.items() if PROBE in (v or "") and k not in TEXT_ATTRIBUTES]
        assert not injected, f"{where}: a hostile value became <{tag} {attrs}>"
        assert tag != "img" or attrs.get("src") != "x", f"{where}: an injected <img>"
    assert not any(PROBE in s or "alert(1)" in s for s in parsed.scripts), f"{where}: an injected script"
    assert "{{ 7*7 }}" not in page or "49" not in page.split("{{ 7*7 }}")[0][-5:], where


# --- stored or refused as the rules say ---------------------------------------------------------------------

@pytest.mark.parametrize("h,kind", list(cases()))
def test_the_api_stores_or_refuses_each_hostile_value_as_the_rules_say(client, bearer, acme, h, kind):
    field = FIELD_OF_KIND[kind]
    response = client.post("/api/v1/deployments/ACME/users", json=record(**{field: h.value}), headers=bearer)
    assert response.status_code in (201, 422), response.status_code
    got = STORED if response.status_code == 201 else outcome(response.json["errors"], field)
    stored = None
    if response.status_code == 201:
        stored = response.json[field]
        assert db.session.scalar(sa.select(getattr(User, field))) == stored  # what the API said is what is kept
    assert_as_the_rules_say(h, kind, got, stored)


@pytest.mark.parametrize("kind", FIELD_OF_KIND)
def test_the_manual_form_stores_or_refuses_and_shows_each_value_inert(client, auth, technician, acme, kind):
    field = FIELD_OF_KIND[kind]
    page = "/deployments/ACME/users/new"
    for i, h in enumerate(HOSTILE):
        before = db.session.scalar(sa.select(sa.func.count(User.id)))
        response = auth.post(page, record(i, **{field: h.value}))
        text = response.get_data(as_text=True)
        assert_inert(text, f"manual form, {h.label} as {kind}")
        if response.status_code == 422:
            assert getattr(h, kind) != STORED, f"{h.label} as {kind} refused by the form: {text[:300]}"
            assert db.session.scalar(sa.select(sa.func.count(User.id))) == before
        else:
            assert response.status_code == 303, (h.label, response.status_code)
            assert getattr(h, kind) == STORED, f"{h.label} as {kind} was stored: the rules refuse it"
            stored = db.session.scalar(sa.select(getattr(User, field)).order_by(User.id.desc()).limit(1))
            assert stored == h.stored


def test_inline_edit_stores_text_and_sends_back_an_inert_row_or_form(client, auth, technician, acme, make_user):
    user = make_user(acme)
    url = f"/deployments/ACME/users/{user.id}"
    for h in HOSTILE:
        values = {**record(), "email": user.email, "username": user.username, "department": h.value}
        response = auth.htmx("PUT", url, values, page="/deployments/ACME/users/")
        text = response.get_data(as_text=True)
        assert_inert(text, f"inline edit of {h.label}")
        db.session.expire_all()
        if h.text == STORED:
            assert response.status_code == 200 and db.session.get(User, user.id).department == h.stored, h.label
        else:
            assert response.status_code == 422 and db.session.get(User, user.id).department != h.value, h.label
            if len(h.value) < 1000:
                assert html.escape(h.stored, quote=True).replace("&#x27;", "&#39;") in text or \
                    "\x00" in h.value or "\x0b" in h.value, f"{h.label}: the edit form lost the typed value"


def csv_upload(rows: list[dict]) -> tuple[io.BytesIO, str]:
    """A CSV of the template's headers with these records."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["first_name", "last_name", "email", "username", "phone", "department"])
    out.write("First Name*,Last Name*,Email*,Username*,Phone*,Department\r\n")
    for row in rows:
        writer.writerow(row)
    return io.BytesIO(out.getvalue().encode()), "hostile.csv"


CSV_VALUES = [h for h in HOSTILE if "\x00" not in h.value]  # a NUL makes the whole file refused (next test)


@pytest.mark.parametrize("kind", FIELD_OF_KIND)
def test_an_import_stages_each_hostile_value_with_the_rules_verdict(client, bearer, acme, kind):
    field = FIELD_OF_KIND[kind]
    rows = [{**record(i), field: h.value} for i, h in enumerate(CSV_VALUES)]
    response = client.post("/api/v1/deployments/ACME/imports", data={"file": csv_upload(rows)}, headers=bearer,
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    staged = {r["row"]: r for r in response.json["rows"]}
    assert len(staged) == len(CSV_VALUES)
    for number, h in enumerate(CSV_VALUES, start=2):
        row = staged[number]
        if kind == "username" and "@" in h.value:  # an import reads a UPN's name part as the username
            local = h.value.split("@", 1)[0].strip()
            h = Hostile(h.label, local, "", "missing" if not local else h.username, "")
        assert_as_the_rules_say(h, kind, outcome(row["errors"], field), row["values"][field])


def test_a_nul_in_a_csv_refuses_the_file_through_page_and_api(client, auth, technician, bearer, acme):
    body, name = csv_upload([record(0, department="A\x00B")])
    page = auth.post("/deployments/ACME/imports/", {"file": (body, name)}, content_type="multipart/form-data")
    assert page.status_code == 422 and "NUL" in page.get_data(as_text=True)
    body, name = csv_upload([record(0, department="A\x00B")])
    api = client.post("/api/v1/deployments/ACME/imports", data={"file": (body, name)}, headers=bearer,
                      content_type="multipart/form-data")
    assert api.status_code == 422 and "NUL" in api.json["error"]
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0


def test_the_api_row_patch_applies_the_same_rules(client, bearer, acme):
    created = client.post("/api/v1/deployments/ACME/imports", data={"file": csv_upload([record()])},
                          headers=bearer, content_type="multipart/form-data").json
    for h in HOSTILE:
        if "\x00" in h.value:  # NUL: the next test
            continue
        patched = client.patch(f"/api/v1/imports/{created['id']}/rows/2", json={"department": h.value}, headers=bearer)
        assert patched.status_code == 200
        assert_as_the_rules_say(h, "text", outcome(patched.json["errors"], "department"),
                                patched.json["values"]["department"])


def test_a_nul_in_a_row_patch_is_refused_not_a_server_error(client, bearer, acme):
    created = client.post("/api/v1/deployments/ACME/imports", data={"file": csv_upload([record()])},
                          headers=bearer, content_type="multipart/form-data").json
    patched = client.patch(f"/api/v1/imports/{created['id']}/rows/2", json={"department": "A\x00B"}, headers=bearer)
    assert patched.status_code == 422 and "NUL character" in patched.json["error"]
    department = db.session.scalar(sa.select(ImportRow.department).where(ImportRow.batch_id == created["id"],
                                                                       ImportRow.row_number == 2))
    assert department == ""  # nothing was changed: the department stays empty


# --- rendered inert ------------------------------------------------------------------------------------------

def stored_text_values() -> list[Hostile]:
    return [h for h in HOSTILE if h.text == STORED]


def test_pages_render_stored_hostile_values_inert(client, auth, technician, acme, make_user, bearer):
    for i, h in enumerate(stored_text_values()):
        make_user(acme, first_name="Ann", last_name=f"Lee{chr(97 + i)}", department=h.value[:64],
                  location=h.value[:128], job_title=h.value[:128])
    # Older or imported data may hold what the validator refuses today: it must render inert too.
    for i, h in enumerate(HOSTILE):
        value = h.value.replace("\x00", "")  # PostgreSQL text cannot hold a NUL at all
        db.session.add(User(deployment_id=acme.id, first_name=value[:64], last_name="Raw",
                            email=f"raw{i}@acme.example", username=f"raw{i}", username_key=f"raw{i}",
                            email_key=f"raw{i}@acme.example", phone="1", department=value[:64]))
        db.session.add(CatalogEntry(deployment_id=acme.id, source="pc", source_key=f"k{i}", display_name=value[:256],
                                    first_name=value[:64], last_name="Seen", department=value[:64],
                                    machine_name=value[:255], os=value[:255]))
    db.session.commit()
    staged = client.post("/api/v1/deployments/ACME/imports", headers=bearer, content_type="multipart/form-data",
                         data={"file": csv_upload([{**record(i), "first_name": h.value, "department": h.value}
                                                   for i, h in enumerate(CSV_VALUES)])}).json
    pages = {"Users page": "/deployments/ACME/users/?per_page=200",
             "Users table (htmx)": "/deployments/ACME/users/?per_page=200",
             "Catalog page": "/deployments/ACME/catalog/",
             "import preview": f"/deployments/ACME/imports/{staged['id']}",
             "import preview, errors only": f"/deployments/ACME/imports/{staged['id']}?errors=1",
             "import summary": f"/deployments/ACME/imports/{staged['id']}/summary",
             "audit log": "/deployments/ACME/audit"}
    for where, url in pages.items():
        headers = {"HX-Request": "true", "HX-Target": "users-table"} if "htmx" in where else {}
        response = client.get(url, headers=headers)
        assert response.status_code == 200, where
        text = response.get_data(as_text=True)
        assert_inert(text, where)
        if where not in ("import summary", "audit log"):  # the values are shown, as text
            assert "&lt;img src=x onerror=alert(1)&gt;" in text or "&lt;div hx-get=" in text, where
    for row in range(2, 2 + len(CSV_VALUES)):
        for suffix in ("", "/edit"):
            response = client.get(f"/deployments/ACME/imports/{staged['id']}/rows/{row}{suffix}")
            assert_inert(response.get_data(as_text=True), f"import row {row}{suffix}")
    for user_id in db.session.scalars(sa.select(User.id)):
        assert_inert(client.get(f"/deployments/ACME/users/{user_id}/edit").get_data(as_text=True), "user edit row")


def test_the_inert_check_catches_an_injected_element():
    with pytest.raises(AssertionError):
        assert_inert(f'<td><div hx-get="{PROBE}" hx-trigger="load">x</div></td>', "self-test")
    with pytest.raises(AssertionError):
        assert_inert(f"<td><script>fetch('{PROBE}')</script></td>", "self-test")
    assert_inert(html.escape(f'<div hx-get="{PROBE}">'), "self-test")


# --- escaped in LDAP ----------------------------------------------------------------------------------------

def test_ldap_filters_and_dns_escape_every_metacharacter(monkeypatch):
    from ldap3.utils.dn import parse_dn

    from app.services.directory import accounts
    from app.services.directory import operations as op
    from app.services.directory.attributes import account_dn

    seen = []
    monkeypatch.setattr(op, "search", lambda conn, base, ldap_filter, attrs, doing="": seen.append(ldap_filter) or [])
    settings = type("S", (), {"base_dn": "DC=acme,DC=example"})()
    for h in HOSTILE:
        value = h.stored.replace("\x00", "")[:200]
        if not value:
            continue
        accounts.find_account(None, settings, username=value, upn=f"{value}@acme.example")
        filter_ = seen[-1]
        body = filter_[len("(|"):-1]
        assert body.count("(") == body.count(")") == 2, f"{h.label}: the filter structure changed: {filter_}"
        for ch in "*()\\\x00":
            assert ch not in value or ch not in body.split("=", 1)[1].split(")(")[0], (h.label, filter_)
        dn = account_dn(value, "OU=Users,OU=ACME,DC=acme,DC=example")
        rdns = parse_dn(dn)
        assert len(rdns) == 5 and rdns[0][0] == "CN", f"{h.label}: {dn} has {len(rdns)} parts"


# --- neutralised in every export ------------------------------------------------------------------------------

FORMULAS = [h for h in HOSTILE if h.value.startswith(FORMULA_TRIGGERS) and h.text == STORED]


def assert_no_formula_in_xlsx(data: bytes, where: str) -> int:
    """No cell of any sheet is a formula; formula-like text is a quote-prefixed string. Cells checked."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), f"{where}: {name}"
    book = openpyxl.load_workbook(io.BytesIO(data))
    risky = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: {cell.coordinate} is a formula"
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                    assert cell.quotePrefix, f"{where}: {cell.coordinate} {cell.value!r} is not quote-prefixed"
                    risky += 1
    return risky


def test_the_import_problems_report_neutralises_formulas(client, auth, technician, acme, bearer):
    rows = [{**record(i), "first_name": h.value, "department": h.value, "username": h.value}
            for i, h in enumerate(FORMULAS)]
    staged = client.post("/api/v1/deployments/ACME/imports", data={"file": csv_upload(rows)}, headers=bearer,
                         content_type="multipart/form-data").json
    response = client.get(f"/deployments/ACME/imports/{staged['id']}/problems.xlsx")
    assert response.status_code == 200
    # Each formula sits in first name, department and username (an import keeps a UPN's name part only).
    assert assert_no_formula_in_xlsx(response.data, "problems report") >= 3 * len(FORMULAS) - 1


def test_the_import_problems_report_survives_control_characters(client, auth, technician, acme, bearer):
    rows = [{**record(0), "department": "A\x0bB"}, {**record(1), "department": "C\x1bD"}]
    staged = client.post("/api/v1/deployments/ACME/imports", data={"file": csv_upload(rows)}, headers=bearer,
                         content_type="multipart/form-data").json
    assert staged["counts"]["errors"] == 2
    response = client.get(f"/deployments/ACME/imports/{staged['id']}/problems.xlsx")
    assert response.status_code == 200
    cells = [c.value for row in openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows() for c in row]
    assert "A\ufffdB" in cells and "C\ufffdD" in cells  # where the control character was is visible
    cells = [c.value for row in openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows() for c in row]
    assert "A\ufffdB" in cells and "C\ufffdD" in cells  # where the control character was is visible


def test_the_send_results_files_neutralise_formula_like_values(client, auth, technician, acme):
    from datetime import datetime

    from app.services import deployments, provisioning, users

    deployments.update_deployment(acme, "tests", ldaps_url="ldaps://dc1.acme.invalid:636", bind_user="svc@acme.example",
                                  bind_password="Bind-Secret-x1", base_ou="DC=acme,DC=example")
    acme.directory_verified_at = datetime.now(UTC)
    acme.directory_verified_digest = acme.directory_digest()
    db.session.commit()
    users.create_user(acme, record(1, username="-cmd", email="=HYPERLINK@acme.example"), "tests")
    send = provisioning.send_to_cloud(acme, technician).send
    csv_text = client.get(f"/deployments/ACME/cloud/sends/{send.id}/results.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))) for cell in row]
    assert "'-cmd" in cells and "'=HYPERLINK@acme.example" in cells
    assert not any(cell.startswith(FORMULA_TRIGGERS) for cell in cells)
    xlsx = client.get(f"/deployments/ACME/cloud/sends/{send.id}/results.xlsx").data
    assert assert_no_formula_in_xlsx(xlsx, "results.xlsx") >= 2


# --- malformed uploads through the page and the API ----------------------------------------------------------

def xlsx_bytes(extra: dict[str, bytes | str] | None = None, *, sheet: str | None = None,
               content_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
               workbook: str | None = None) -> bytes:
    """A small hand-made .xlsx with optional hostile parts."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    rows = "".join(f'<row r="{n}">' + "".join(f'<c r="{chr(65 + i)}{n}" t="inlineStr"><is><t>{v}</t></is></c>'
                                              for i, v in enumerate(values)) + "</row>"
                   for n, values in ((1, ["First Name", "Last Name", "Email", "Phone"]),
                                     (2, ["Pat", "Lee", "pat@acme.example", "5551234567"])))
    parts = {
        "[Content_Types].xml": ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                                'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                                'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                                f'<Override PartName="/xl/workbook.xml" ContentType="{content_type}"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": workbook or (f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Users" '
                                        'sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/worksheet" '
                                       'Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": sheet or (f'<worksheet xmlns="{main}"><sheetData>{rows}</sheetData></worksheet>'),
        **(extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def declared_bomb() -> bytes:
    """A workbook whose sheet says it expands to 3.7 GB (the central directory lies, as a bomb's does)."""
    data = bytearray(xlsx_bytes())
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(b"xl/worksheets/sheet1.xml"))
    struct.pack_into("<I", data, entry + 24, 0xDC000000)
    return bytes(data)


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets>'
          '<sheet name="&d;" sheetId="1"/></sheets></workbook>')
CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

MALFORMED = {
    "zip bomb by ratio": (lambda: xlsx_bytes({"xl/media/padding.xml": "0" * (16 * 1024 * 1024)}), "users.xlsx"),
    "zip bomb by declared size": (declared_bomb, "users.xlsx"),
    "password-protected workbook": (lambda: CFB + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 500,
                                    "users.xlsx"),
    "macro workbook renamed .xlsx": (lambda: xlsx_bytes(content_type="application/vnd.ms-excel.sheet.macroEnabled."
                                                                     "main+xml"), "users.xlsx"),
    "VBA project inside": (lambda: xlsx_bytes({"xl/vbaProject.bin": b"\x00" * 64}), "users.xlsx"),
    "XML entity expansion": (lambda: xlsx_bytes(workbook=LAUGHS), "users.xlsx"),
    "huge declared dimension": (lambda: xlsx_bytes(sheet='<worksheet xmlns="http://schemas.openxmlformats.org/'
                                                         'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/>'
                                                         '<sheetData/></worksheet>'), "users.xlsx"),
    "old .xls": (lambda: CFB + b"\x00" * 500 + "Workbook".encode("utf-16-le") + b"\x00" * 500, "users.xls"),
    "truncated zip": (lambda: xlsx_bytes()[:300], "users.xlsx"),
    "UTF-16 CSV with a NUL": (lambda: "First Name,Last Name\n\x00".encode("utf-16"), "users.csv"),
}


@pytest.mark.parametrize("label", MALFORMED)
def test_a_malformed_upload_is_refused_through_page_and_api_and_stages_nothing(client, auth, technician, bearer,
                                                                              acme, label):
    make, name = MALFORMED[label]
    page = auth.post("/deployments/ACME/imports/", {"file": (io.BytesIO(make()), name)},
                     content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="upload-error"' in text, (label, page.status_code)
    api = client.post("/api/v1/deployments/ACME/imports", data={"file": (io.BytesIO(make()), name)}, headers=bearer,
                      content_type="multipart/form-data")
    assert api.status_code == 422 and len(api.json["error"]) > 20, (label, api.status_code, api.json)
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0
