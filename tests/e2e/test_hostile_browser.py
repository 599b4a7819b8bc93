"""Hostile values in a real browser: the Users page (and its inline edit), the import preview and the Catalog
show them as text; no request goes to the probe URL, no dialog opens, no script is even blocked by the CSP
(which would mean it had been injected)."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import CatalogEntry, User
from tests.e2e.conftest import screenshot
from tests.security.hostile import HOSTILE, PROBE

pytestmark = pytest.mark.browser

SHOWN = [h for h in HOSTILE if "\x00" not in h.value and len(h.value) < 1000]


@pytest.fixture()
def watched(signed_in_page):
    """The signed-in page, recording every request URL and every console message."""
    page = signed_in_page
    page.requests, page.console = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda message: page.console.append(message.text))
    return page


def assert_nothing_ran(page, where: str) -> None:
    page.wait_for_timeout(300)  # hx-trigger="load" fires right after a swap; give it the chance
    assert not [u for u in page.requests if PROBE in u], f"{where}: a hostile value fired a request"
    assert page.dialogs == [], f"{where}: a dialog opened: {page.dialogs}"
    blocked = [m for m in page.console if "Content Security Policy" in m or "Refused to" in m]
    assert not blocked, f"{where}: something was injected (the CSP had to stop it): {blocked}"
    assert page.locator(f"[hx-get*='{PROBE}'], [src='x'], [onerror]").count() == 0, where
    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0, where


def seed(deployment) -> None:
    """Users and catalog entries holding every hostile value (as the validator would refuse, too)."""
    for i, h in enumerate(SHOWN):
        value = h.value
        db.session.add(User(deployment_id=deployment.id, first_name=value[:64], last_name="Hostile",
                            email=f"h{i}@acme.example", username=f"h{i}", username_key=f"h{i}",
                            email_key=f"h{i}@acme.example", phone="5551234567", department=value[:64],
                            location=value[:128], job_title=value[:128]))
        db.session.add(CatalogEntry(deployment_id=deployment.id, source="pc", source_key=f"k{i}",
                                    display_name=value[:256], first_name=value[:64], last_name="Seen",
                                    email=f"c{i}@acme.example", department=value[:64], location=value[:128],
                                    machine_name=value[:255], os=value[:255]))
    db.session.commit()


def hostile_csv(tmp_path):
    path = tmp_path / "hostile.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First Name*", "Last Name*", "Email*", "Username*", "Phone*", "Department", "Job Title"])
        for i, h in enumerate(SHOWN):
            writer.writerow([h.value, "Lee", f"u{i}@acme.example", f"u{i}", "5551234567", h.value, h.value])
    return path


def test_the_users_page_and_its_inline_edit_show_hostile_values_as_text(watched, make_deployment):
    page = watched
    seed(make_deployment("ACME", upn_suffix="acme.example"))
    page.goto("/deployments/ACME/users/?per_page=200")
    expect(page.locator("#users-body tr")).to_have_count(len(SHOWN))
    expect(page.locator("#users-body")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator("#users-body")).to_contain_text(f'<div hx-get="{PROBE}" hx-trigger="load">x</div>')
    assert_nothing_ran(page, "Users page")
    screenshot(page, "hostile-users")

    user_id = db.session.scalar(db.select(User.id).where(User.email == "h1@acme.example"))
    page.click(f"#user-{user_id} button[title^=Edit]")
    department = page.locator(f"#edit-{user_id}-department")
    expect(department).to_have_value(f'<div hx-get="{PROBE}" hx-trigger="load">x</div>')
    department.fill(f'" hx-get="{PROBE}" hx-trigger="load" x="')
    page.fill(f"#edit-{user_id}-first_name", "Ann")
    page.click(f"#user-{user_id} button:has-text('Save')")
    expect(page.locator(f"#user-{user_id}")).to_contain_text(f'" hx-get="{PROBE}"')
    assert_nothing_ran(page, "inline edit saved and swapped")
    page.fill("input[type=search]", "<script>")
    page.wait_for_timeout(800)  # active search swaps the table
    assert_nothing_ran(page, "active search for <script>")


def test_the_import_preview_shows_hostile_values_as_text(watched, make_deployment, tmp_path):
    page = watched
    make_deployment("ACME", upn_suffix="acme.example")
    page.goto("/deployments/ACME/imports/")
    page.set_input_files("input[type=file]", str(hostile_csv(tmp_path)))
    page.wait_for_url("**/imports/*")
    expect(page.locator("#batch-counts")).to_contain_text(f"{len(SHOWN)} rows")
    expect(page.locator(".import-rows")).to_contain_text("<script>fetch(")
    assert_nothing_ran(page, "import preview")
    screenshot(page, "hostile-import-preview")
    page.click("#row-3 button[title^=Edit]")  # the htmx row (value="" attributes of every hostile value)
    expect(page.locator("#row-3-department")).to_have_value(f'<div hx-get="{PROBE}" hx-trigger="load">x</div>')
    page.click("#row-3 button:has-text('Save')")
    assert_nothing_ran(page, "import row edit")
    page.goto(page.url + "?errors=1")
    assert_nothing_ran(page, "import preview, errors only")


def test_the_catalog_shows_hostile_values_as_text(watched, make_deployment):
    page = watched
    seed(make_deployment("ACME", upn_suffix="acme.example"))
    page.goto("/deployments/ACME/catalog/")
    expect(page.locator("main")).to_contain_text("<img src=x onerror=alert(1)>")
    assert_nothing_ran(page, "Catalog page")
    screenshot(page, "hostile-catalog")
