"""The Catalog page: search, filters, and an empty state that explains discovery."""

from datetime import UTC, datetime, timedelta

from flask import g, render_template, request

from app.blueprints.access import is_htmx
from app.blueprints.catalog import bp
from app.models.catalog_entry import SOURCES
from app.services import catalog
from app.services.staging.catalog_import import imported_entry_ids

SEEN_SINCE = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _query() -> catalog.CatalogQuery:
    """The table's state from the query string."""
    args = request.args
    since = SEEN_SINCE.get(args.get("seen", ""))
    return catalog.CatalogQuery(
        q=args.get("q", "")[:100], source=args.get("source", "") if args.get("source") in SOURCES else "",
        department=args.get("department", "")[:64], location=args.get("location", "")[:128],
        seen_since=datetime.now(UTC) - since if since else None,
        imported=args.get("imported", "") if args.get("imported") in ("yes", "no") else "",
        page=args.get("page", 1, type=int))


@bp.get("/")
def index():
    """The page, or only the table when htmx asks."""
    query = _query()
    page = catalog.search_entries(g.deployment, query)
    context = dict(deployment=g.deployment, page=page, query=query, sources=SOURCES, seen=request.args.get("seen", ""),
                   imported_ids=imported_entry_ids(g.deployment, [e.id for e in page.items]))
    if is_htmx() and request.headers.get("HX-Target") == "catalog-table":
        return render_template("catalog/_table.html", **context)
    return render_template("catalog/index.html", total=catalog.catalog_size(g.deployment),
                           departments=catalog.facet_values(g.deployment, "department"),
                           locations=catalog.facet_values(g.deployment, "location"),
                           not_imported=catalog.not_imported_count(g.deployment), **context)
