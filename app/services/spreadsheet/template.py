"""The Excel template technicians send to clients, derived from the field schema."""

from __future__ import annotations

from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from app.services.user_schema import USER_FIELDS, UserField

USERS_SHEET = "Users"
INSTRUCTIONS_SHEET = "Instructions"
TEXT_FORMAT = "@"
# Cells pre-formatted as text, beyond the column style: some spreadsheet apps ignore column styles.
TEXT_ROWS = 2_000
LAST_ROW = 1_048_576
HEADER_FILL = PatternFill(fill_type="solid", fgColor="DDEBF7")
BOLD = Font(bold=True)


def write_template(stream: IO[bytes], *, upn_suffix: str | None,
                   deployment_name: str | None) -> None:
    """Write the bulk-import workbook: a "Users" sheet to fill in and an "Instructions" sheet."""
    book = Workbook()
    users = book.active
    users.title = USERS_SHEET
    _users_sheet(users)
    _instructions_sheet(book.create_sheet(INSTRUCTIONS_SHEET), upn_suffix, deployment_name)
    book.save(stream)


def _users_sheet(sheet) -> None:
    """Headers (mandatory starred), frozen and bold; text columns; one validation per column."""
    sheet.freeze_panes = "A2"
    for index, f in enumerate(USER_FIELDS, 1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=f.template_header)
        cell.font, cell.fill = BOLD, HEADER_FILL
        sheet.column_dimensions[letter].width = max(14, min(len(f.template_header) + 6, 40))
        if f.as_text:  # so Excel keeps the leading zeros of phones, extensions and usernames
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
            for row in range(2, TEXT_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = TEXT_FORMAT
        sheet.add_data_validation(_validation(f, f"{letter}2:{letter}{LAST_ROW}"))


def _validation(f: UserField, sqref: str) -> DataValidation:
    """A text-length rule with the field's help as the input message shown on each cell."""
    need = "Required." if f.mandatory and not f.derivable else "Optional."
    limit = f"At most {f.max_length} characters."
    prompt = " ".join(part for part in (need, f.help, limit) if part)
    return DataValidation(
        type="textLength", operator="lessThanOrEqual", formula1=str(f.max_length),
        allow_blank=True, showInputMessage=True, showErrorMessage=True,
        promptTitle=f.label[:32], prompt=prompt[:255],  # Excel's limits for these two
        errorTitle=f"{f.label} is too long"[:32],
        error=f"{f.label}: at most {f.max_length} characters, {f.allowed}."[:255],
        sqref=sqref,
    )


def instruction_lines(upn_suffix: str | None, deployment_name: str | None) -> list[str]:
    """The rules the Instructions sheet states, one per line."""
    mandatory = ", ".join(f.label for f in USER_FIELDS if f.mandatory and not f.derivable)
    derivable = ", ".join(f.label for f in USER_FIELDS if f.derivable)
    sign_in = (f"Users will sign in as username@{upn_suffix}." if upn_suffix else
               "Users will sign in as username@ followed by the client's sign-in domain "
               "(the deployment's UPN suffix).")
    return [
        f"User list for {deployment_name}" if deployment_name else "User list",
        "Fill in the Users sheet: one row per user, starting on row 2.",
        f"Required columns (marked *): {mandatory}. {derivable} may be left empty: "
        "it is then made from the names by the naming policy.",
        "Do not rename, remove or reorder the column headers.",
        "Names: letters only (accented letters are fine), spaces and hyphens. No other "
        "special characters such as ' . , ( ) or digits.",
        "Phone: digits only, no parentheses, spaces, dashes or plus sign (for example "
        "5551234567). Put the extension in the Extension column, not in the phone.",
        "Extension: optional, digits only.",
        sign_in,
        "Save the file as .xlsx (Excel Workbook) or CSV UTF-8. Macro-enabled (.xlsm) and "
        "password-protected files cannot be imported.",
    ]


def _instructions_sheet(sheet, upn_suffix: str | None, deployment_name: str | None) -> None:
    """The rules in words, then one line per column: required, maximum length, allowed, help."""
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 12
    sheet.column_dimensions["C"].width = 12
    sheet.column_dimensions["D"].width = 50
    sheet.column_dimensions["E"].width = 60
    lines = instruction_lines(upn_suffix, deployment_name)
    sheet.append([lines[0]])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in lines[1:]:
        sheet.append([line])
    sheet.append([])
    sheet.append(["Column", "Required", "Max length", "Allowed", "Help"])
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD
    for f in USER_FIELDS:
        required = "Derived" if f.derivable else ("Yes" if f.mandatory else "No")
        sheet.append([f.template_header, required, f.max_length, f.allowed, f.help])
        for column in (4, 5):
            sheet.cell(row=sheet.max_row, column=column).alignment = Alignment(wrap_text=True)
