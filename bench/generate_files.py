"""Write realistic bulk-import files (.xlsx and .csv, 10,000 and 100,000 rows) for bench_read.py.

Usage: python bench/generate_files.py [OUT_DIR]   (default: bench/out/)

The rows look like what technicians upload: accented names, phones typed with punctuation or as
numbers, and about 2% of rows with an error (an O'Leary-style apostrophe, a missing email).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.services.user_schema import USER_FIELDS  # noqa: E402

SIZES = (10_000, 100_000)
FIRST = ("José", "Zoë", "François", "Ana", "Łukasz", "Søren", "Chloé", "Pat", "Mei", "Ngozi",
         "Björn", "Renée", "Raúl", "Siobhán", "Ines", "Tomás", "Priya", "Dmitri", "Hélène", "Omar")
LAST = ("Müller", "García", "Nguyen", "Smith", "Ólafsdóttir", "Kowalski", "Dubois", "Brennan",
        "Novák", "Jensen", "Sánchez", "Okafor", "Lefèvre", "Rossi", "Çelik", "Kim", "Martín")
BAD_LAST = ("O'Leary", "D'Angelo", "O'Brien")
DEPARTMENTS = ("Sales", "Finance", "Operations", "Support", "R&D", "Human Resources", "")
LOCATIONS = ("Head office", "Montréal", "Zürich", "Warehouse 2", "Remote", "")
TITLES = ("Account manager", "Accountant", "Technician", "Director", "Assistant", "")


def phone(rng: random.Random) -> str | int:
    """A phone as people type it: punctuated, spaced, or a plain number cell."""
    digits = f"{rng.randint(200, 999)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
    style = rng.randrange(4)
    if style == 0:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if style == 1:
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    if style == 2:
        return f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"
    return int(digits)


def user_row(rng: random.Random, n: int) -> list:
    """One user in template column order; about 2% of rows carry a mistake."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    roll = rng.random()
    if roll < 0.01:
        last = rng.choice(BAD_LAST)
    ascii_first = first.encode("ascii", "ignore").decode() or "user"
    email = "" if 0.01 <= roll < 0.02 else f"{ascii_first.lower()}.{n}@client.example"
    extension = rng.randint(100, 999) if rng.random() < 0.3 else ""
    values = {
        "first_name": first, "last_name": last, "email": email, "username": "",
        "phone": phone(rng), "extension": extension, "department": rng.choice(DEPARTMENTS),
        "location": rng.choice(LOCATIONS), "job_title": rng.choice(TITLES),
    }
    return [values.get(f.name, "") for f in USER_FIELDS]


def write_xlsx(path: Path, rows: int, seed: int) -> None:
    """A streamed (write_only) workbook with a header row and `rows` users."""
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Users")
    ws.append([f.template_header for f in USER_FIELDS])
    for n in range(rows):
        ws.append(user_row(rng, n))
    wb.save(path)


def write_csv(path: Path, rows: int, seed: int) -> None:
    """The same users as a UTF-8 (BOM) comma-separated file, as Excel saves it."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([f.template_header for f in USER_FIELDS])
        for n in range(rows):
            writer.writerow(user_row(rng, n))


def main(argv: list[str]) -> None:
    """Write users_10000.xlsx/.csv and users_100000.xlsx/.csv into the output folder."""
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).parent / "out"
    out.mkdir(parents=True, exist_ok=True)
    for rows in SIZES:
        write_xlsx(out / f"users_{rows}.xlsx", rows, seed=rows)
        write_csv(out / f"users_{rows}.csv", rows, seed=rows)
        print(f"wrote {rows} rows to {out}/users_{rows}.xlsx and .csv")


if __name__ == "__main__":
    main(sys.argv)
