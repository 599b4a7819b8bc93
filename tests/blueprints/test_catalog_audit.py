"""The Catalog page and the audit log page."""

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
