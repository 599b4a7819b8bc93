"""A technician imports a messy spreadsheet in a real browser, from template to draft users."""


import openpyxl
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


def test_template_upload_fix_and_import(signed_in_page, make_deployment, tmp_path):
    page = signed_in_page
    make_deployment("ACME", upn_suffix="acme.example")
    page.goto("/deployments/ACME/users/")
    page.hover(".add-button")
    page.click("text=Import from Excel")
    with page.expect_download() as download:
        page.click("text=Download template")
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    book = openpyxl.load_workbook(template)
    sheet = book["Users"]
    assert [c.value for c in sheet[1]][:5] == ["First Name*", "Last Name*", "Email*", "Username*", "Phone*"]
    rows = [("Ann", "Lee", "ann@acme.example", "alee", "5551234567"),
            ("Pat", "O'Leary", "pat@acme.example", "poleary", "5551112222"),
            ("Bo", "Ray", "bo@acme.example", "bray", "(555) 333-4444"),
            ("Cy", "Day", "cy@acme.example", "cday", "555.777.8888")]
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            sheet.cell(row=r, column=c, value=value)
    filled = tmp_path / "filled.xlsx"
    book.save(filled)

    page.set_input_files("input[type=file]", str(filled))
    page.wait_for_url("**/imports/*")
    counts = page.locator("#batch-counts")
    expect(counts).to_contain_text("4 rows")
    expect(counts).to_contain_text("3 with errors")
    expect(page.locator(".import-rows .triangle")).to_have_count(3)
    expect(page.locator("#commit-button")).to_have_count(0)
    screenshot(page, "import-preview")

    page.click("#row-3 button[title^=Edit]")
    page.fill("#row-3-last_name", "OLeary")
    page.click("#row-3 button:has-text('Save')")
    expect(page.locator("#row-3 .triangle")).to_have_count(0)
    expect(counts).to_contain_text("2 with errors")

    expect(page.locator("#problem-summary")).not_to_contain_text("Last name")
    page.click("button:has-text('Apply the suggested fix to all 2 rows like it')")
    expect(counts).to_contain_text("0 with errors")
    page.click("#commit-button")
    page.wait_for_url("**/deployments/ACME/users/")
    expect(page.locator(".flash")).to_contain_text("4 users imported as drafts")
    for name in ("Ann Lee", "Pat OLeary", "Bo Ray", "Cy Day"):
        expect(page.locator("#users-body")).to_contain_text(name)
    expect(page.locator("#users-body")).to_contain_text("5553334444")


def test_drag_and_drop_a_bad_file_shows_the_message(signed_in_page, make_deployment):
    page = signed_in_page
    make_deployment("ACME")
    page.goto("/deployments/ACME/imports/")
    data = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["First Name,Last Name\\nAnn,Lee\\n"], "people.csv", {type: "text/csv"}));
        return dt; }""")
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": data})
    expect(page.locator("#upload-error")).to_contain_text("no column for Email*")
