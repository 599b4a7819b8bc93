"""The Catalog page and the audit log page."""

import sqlalchemy as sa

from app.extensions import db
from app.models import CatalogEntry


def test_empty_catalog_explains_how_discovery_fills_it(client, technician, make_deployment):
    make_deployment("ACME")
    page = client.get("/deployments/ACME/catalog/").get_data(as_text=True)
    assert "The catalog is empty" in page and "PC agent" in page and "Network discovery" in page


def test_catalog_search_and_source_filter(client, technician, make_deployment):
    deployment = make_deployment("ACME")
    for key, source, first in (("pc:1", "pc", "Ann"), ("guid-2", "network", "Bo"), ("guid-3", "network", "Cy")):
        db.session.add(CatalogEntry(deployment_id=deployment.id, source=source, source_key=key, first_name=first,
                                    last_name="Lee", email=f"{first.lower()}@acme.example"))
    db.session.commit()
    page = client.get("/deployments/ACME/catalog/").get_data(as_text=True)
    assert all(name in page for name in ("Ann Lee", "Bo Lee", "Cy Lee"))
    html = client.get("/deployments/ACME/catalog/?source=network&q=bo",
                      headers={"HX-Request": "true", "HX-Target": "catalog-table"}).get_data(as_text=True)
    assert "Bo Lee" in html and "Ann Lee" not in html and "Cy Lee" not in html and "<html" not in html


def test_audit_log_lists_who_did_what(client, auth, technician, make_deployment, make_user):
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    page = client.get("/deployments/ACME/audit").get_data(as_text=True)
    assert "user.create" in page and "Ann Lee" in page and "deployment.create" in page


def _catalog(deployment, *people):
    """Catalog entries for (first name, phone) pairs, all valid but for what the phone says."""
    for n, (first, phone) in enumerate(people, start=1):
        db.session.add(CatalogEntry(deployment_id=deployment.id, source="network", source_key=f"guid-{n}",
                                    first_name=first, last_name="Lee", email=f"{first.lower()}@acme.example",
                                    username=f"{first.lower()}.lee", phone=phone))
    db.session.commit()


def test_import_selected_from_the_catalog_goes_through_the_preview_and_flags_the_entry(client, auth, technician,
                                                                                          make_deployment):
    from app.models import User

    _catalog(make_deployment("ACME"), ("Ann", "5551234"), ("Bo", "(555) 777"), ("Cy", "5559999"))
    page = client.get("/deployments/ACME/catalog/").get_data(as_text=True)
    assert "Import selected" in page and "Import all not yet imported (3)" in page
    ann_id = db.session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.first_name == "Ann"))
    bo_id = db.session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.first_name == "Bo"))

    response = auth.post("/deployments/ACME/imports/catalog", {"entry": [str(ann_id), str(bo_id)]},
                         page="/deployments/ACME/catalog/")
    assert response.status_code == 303
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ann" in preview and "Bo" in preview and "Cy" not in preview
    assert preview.count('class="triangle"') == 1  # Bo's phone is flagged, as in a spreadsheet
    batch_url = response.headers["Location"].rstrip("/")
    auth.post(f"{batch_url}/fix-all", {"field": "phone", "code": "not_digits"}, page=response.headers["Location"])
    committed = auth.post(f"{batch_url}/commit", page=response.headers["Location"])
    assert committed.status_code == 303 and committed.headers["Location"].endswith("/deployments/ACME/users/")
    assert sorted(db.session.scalars(sa.select(User.first_name))) == ["Ann", "Bo"]

    page = client.get("/deployments/ACME/catalog/").get_data(as_text=True)
    assert page.count(">imported</span>") == 2 and "Import all not yet imported (1)" in page
    assert page.count("disabled title=\"Already imported as a user\"") == 2
    only_new = client.get("/deployments/ACME/catalog/?imported=no").get_data(as_text=True)
    assert "Cy Lee" in only_new and "Ann Lee" not in only_new


def test_import_with_nothing_chosen_says_so_on_the_catalog(client, auth, technician, make_deployment):
    _catalog(make_deployment("ACME"), ("Ann", "5551234"))
    response = auth.post("/deployments/ACME/imports/catalog", {}, page="/deployments/ACME/catalog/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/deployments/ACME/catalog/")
    assert "Choose at least one catalog entry" in client.get(response.headers["Location"]).get_data(as_text=True)
