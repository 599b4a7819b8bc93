"""Seconds to fetch and map 5,000 ConnectWise contacts and 5,000 Zendesk users via the fakes.

    .venv/bin/python bench/bench_integrations_fetch.py [--people 5000]

Goal: well under 10 s each, staging included (staging is not measured here yet).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.services.integrations import CONNECTWISE, ZENDESK, apply_mapping, default_mapping  # noqa: E402
from tests.support.fake_connectwise import FakeConnectWise  # noqa: E402
from tests.support.fake_zendesk import FakeZendesk  # noqa: E402


def bench_connectwise(people: int) -> tuple[float, float, int, int]:
    """(fetch seconds, map seconds, pages, records) for one company of `people` contacts."""
    with FakeConnectWise(companies=0) as fake:
        company = fake.add_company("Bench Co", contacts=people, inactive=people // 50)
        with fake.client() as client:
            client.discover_codebase()
            started = time.perf_counter()
            result = client.fetch_contacts(company["id"], page_size=1000)
            fetched = time.perf_counter()
            mapping = default_mapping(CONNECTWISE, result.records)
            rows = [apply_mapping(CONNECTWISE, r, mapping) for r in result.records]
            mapped = time.perf_counter()
    return fetched - started, mapped - fetched, result.pages, len(rows) + len(result.skipped)


def bench_zendesk(people: int) -> tuple[float, float, int, int]:
    """(fetch seconds, map seconds, pages, records) for one organization of `people` users."""
    with FakeZendesk(organizations=0) as fake:
        skipped = people // 50
        org = fake.add_organization("Bench Org", users=people - 2 * skipped, agents=skipped,
                                    suspended=skipped)
        with fake.client() as client:
            started = time.perf_counter()
            result = client.fetch_org_users(org["id"], page_size=100)
            fetched = time.perf_counter()
            mapping = default_mapping(ZENDESK, result.records)
            rows = [apply_mapping(ZENDESK, r, mapping) for r in result.records]
            mapped = time.perf_counter()
    return fetched - started, mapped - fetched, result.pages, len(rows) + len(result.skipped)


def main() -> None:
    """Run both benches and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    people = parser.parse_args().people
    for name, bench, size in (("ConnectWise", bench_connectwise, 1000),
                              ("Zendesk", bench_zendesk, 100)):
        fetch, mapping, pages, count = bench(people)
        print(f"{name:<12} {count:>6,} people  {pages:>3} pages of {size:<5} "
              f"fetch {fetch:6.2f} s  map {mapping:5.2f} s  total {fetch + mapping:6.2f} s")


if __name__ == "__main__":
    main()
