"""A newcomer's first minutes: create the admin, a deployment, a user by hand, and see it listed."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


def test_first_run_from_setup_to_a_listed_user(page):
    page.goto("/")
    page.wait_for_url("**/setup")
    page.fill("input[name=name]", "Ada Admin")
    page.fill("input[name=email]", "ada@msp.example")
    page.fill("input[name=password]", "a-long-admin-password")
    page.fill("input[name=confirm]", "a-long-admin-password")
    page.click("button:has-text('Create administrator')")
    page.wait_for_url("**/deployments/new")
    page.fill("input[name=code]", "ACME")
    page.fill("input[name=name]", "Acme Dental")
    page.fill("input[name=upn_suffix]", "acme.example")
    page.click("button:has-text('Create deployment')")
    page.wait_for_url("**/deployments/ACME")
    expect(page.locator(".notice.warn")).to_contain_text("Not on cloud")
    page.click("text=Open Users")
    expect(page.locator(".empty")).to_contain_text("No users yet")
    page.hover(".add-button")
    page.click("text=Add manually")
    for name, value in {"first_name": "Zoë", "last_name": "Núñez", "email": "zoe@acme.example",
                        "username": "zoe.nunez", "phone": "5551234567"}.items():
        page.fill(f"#new-{name}", value)
    page.click("button:has-text('Add user')")
    page.wait_for_url("**/deployments/ACME/users/")
    expect(page.locator("#users-body")).to_contain_text("Zoë Núñez")
    page.goto("/deployments/ACME")
    expect(page.locator(".stats")).to_contain_text("1")
    screenshot(page, "dashboard")
