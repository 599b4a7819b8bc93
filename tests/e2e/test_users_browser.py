"""A technician in a real browser: the + menu, adding a user by hand, inline fixes, inert hostile names."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


def test_hovering_the_green_plus_shows_the_five_ways_to_add_users(signed_in_page, make_deployment):
    page = signed_in_page
    make_deployment("ACME")
    page.goto("/deployments/ACME/users/")
    menu = page.locator("#add-menu-list")
    expect(menu).to_be_hidden()
    page.hover(".add-button")
    expect(menu).to_be_visible()
    labels = [t.strip().split("\n")[0].strip() for t in menu.locator("li").all_inner_texts()]
    assert labels == ["Import from catalog", "Import from Excel", "Import from ConnectWise",
                      "Import from Zendesk", "Add manually"]
    expect(menu.locator("[data-source=catalog]")).to_have_attribute("aria-disabled", "true")


def test_the_plus_menu_opens_from_the_keyboard_too(signed_in_page, make_deployment):
    page = signed_in_page
    make_deployment("ACME")
    page.goto("/deployments/ACME/users/")
    page.focus(".add-button")
    expect(page.locator("#add-menu-list")).to_be_visible()


def test_add_a_user_by_hand_fix_the_name_inline_and_see_it_listed(signed_in_page, make_deployment, make_user):
    page = signed_in_page
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee", department="Front desk", location="Main office")
    page.goto("/deployments/ACME/users/")
    page.hover(".add-button")
    page.click("text=Add manually")
    page.fill("#new-first_name", "Pat")
    page.fill("#new-last_name", "O'Leary")
    feedback = page.locator("#last_name-feedback")
    expect(feedback).to_contain_text("letters, spaces and hyphens")
    expect(feedback.locator("button.suggest")).to_have_text("Use “OLeary”")
    feedback.locator("button.suggest").click()
    expect(page.locator("#new-last_name")).to_have_value("OLeary")
    expect(feedback).not_to_contain_text("letters")
    page.fill("#new-email", "pat.oleary@acme.example")
    page.fill("#new-phone", "(555) 123-4567")
    expect(page.locator("#phone-feedback")).to_contain_text("digits only")
    page.locator("#phone-feedback button.suggest").click()
    page.locator("#new-username").focus()
    page.locator("#new-username").blur()
    page.locator("#username-feedback button.suggest").click()
    expect(page.locator("#new-username")).to_have_value("pat.oleary")
    page.click("button:has-text('Add user')")
    page.wait_for_url("**/deployments/ACME/users/")
    row = page.locator("tr", has_text="Pat OLeary")
    expect(row).to_contain_text("pat.oleary@acme.example")
    expect(row).to_contain_text("5551234567")
    expect(row.locator(".badge")).to_have_text("draft")
    screenshot(page, "users-page")


def test_pencil_edit_shows_the_error_in_place_then_saves(signed_in_page, make_deployment, make_user):
    page = signed_in_page
    user = make_user(make_deployment("ACME"), first_name="Ann", last_name="Lee")
    page.goto("/deployments/ACME/users/")
    page.click(f"#user-{user.id} button[title^=Edit]")
    page.fill(f"#edit-{user.id}-last_name", "Lee (temp)")
    page.click(f"#user-{user.id} button:has-text('Save')")
    expect(page.locator(f"#user-{user.id}")).to_contain_text("letters, spaces and hyphens")
    page.click(f"#user-{user.id} button.suggest")
    page.click(f"#user-{user.id} button:has-text('Save')")
    expect(page.locator(f"#user-{user.id}")).to_contain_text("Ann Lee temp")
    # back to the read-only row: only the selection checkbox is left, no edit field
    expect(page.locator(f"#user-{user.id} input:not([type=checkbox])")).to_have_count(0)
    expect(page.locator(f"#user-{user.id} input[type=checkbox]")).to_have_count(1)


def test_search_as_you_type_filters_the_table(signed_in_page, make_deployment, make_user):
    page = signed_in_page
    deployment = make_deployment("ACME")
    make_user(deployment, first_name="Ann", last_name="Lee")
    make_user(deployment, first_name="Bo", last_name="Ray")
    page.goto("/deployments/ACME/users/")
    page.fill("#user-search", "ray")
    expect(page.locator("#users-body tr")).to_have_count(1)
    expect(page.locator("#users-body")).to_contain_text("Bo Ray")
    assert "q=ray" in page.url


def test_hostile_names_render_inert(signed_in_page, make_deployment):
    from app.extensions import db
    from app.models import User

    page = signed_in_page
    deployment = make_deployment("ACME")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    db.session.add(User(deployment_id=deployment.id, first_name="<img src=x onerror=alert(1)>",
                        last_name='<b hx-get="/boom" hx-trigger="load">x</b><script>alert(2)</script>',
                        email="x@acme.example", username="x", username_key="x", email_key="x@acme.example",
                        phone="1"))
    db.session.commit()
    page.goto("/deployments/ACME/users/")
    expect(page.locator("#users-body")).to_contain_text("<img src=x onerror=alert(1)>")
    page.wait_for_timeout(500)
    assert page.dialogs == []
    assert not any("/boom" in url or url.endswith("/x") for url in requests)
