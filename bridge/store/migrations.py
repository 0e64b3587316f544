"""The store's schema, as forward-only migrations applied in order when a store file is opened.

Each migration is a function of ``sqlite_utils``' :class:`~sqlite_utils.migrations.Migrations` set:
it runs once per file, inside the one immediate transaction that :class:`bridge.store.Store` opens
for all pending ones. A migration is never edited once released; a change of schema is a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bridge.store.customers import (
    m006_customers,
    m012_customer_archive_and_rereads,
    m014_customer_fields_seen_at,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS = Migrations("shopbridge")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    """The first schema: catalogue, links, locations, ledger, customers, inbox, outbox, cursors."""
    db.table("products").create(
        {"id": int, "name": str, "description": str, "status": str, "updated_at": str}, pk="id"
    )
    db.table("variants").create(
        {
            "sku": str,
            "product_id": int,
            "gtin": str,
            "name": str,
            "options": str,
            "price": str,
            "currency": str,
            "status": str,
            "updated_at": str,
        },
        pk="sku",
        foreign_keys=[("product_id", "products", "id")],
        not_null={"product_id", "status"},
    )
    db.table("links").create(
        {
            "entity": str,  # variant | product | customer | location
            "canonical_key": str,  # sku | product id | customer id | location key
            "channel": str,
            "channel_id": str,
            "parent_id": str,
            "version": str,  # renamed channel_version (m008)
            "last_written_hash": str,
            "updated_at": str,
        },
        pk=("entity", "canonical_key", "channel"),
        not_null={"channel_id"},
    )
    db.table("links").create_index(["channel", "entity", "channel_id"], unique=True)
    db.table("locations").create({"key": str, "name": str, "active": int}, pk="key")
    db.table("stock_events").create(
        {
            "source_id": str,
            "channel": str,
            "kind": str,
            "sku": str,
            "location": str,
            "delta": int,
            "occurred_at": str,
            "recorded_at": str,
            "reason": str,
        },
        pk="source_id",
        not_null={"channel", "kind", "sku", "location", "delta", "recorded_at"},
    )
    db.table("stock_events").create_index(["sku", "location"])
    db.table("customers").create(
        {
            "id": int,
            "email": str,
            "phone": str,
            "given_name": str,
            "family_name": str,
            "company": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("customers").create_index(["email"], unique=True)
    db.table("inbox").create(
        {
            "channel": str,
            "event_id": str,
            "topic": str,
            "resource": str,
            "resource_id": str,
            "body": bytes,
            "received_at": str,
            "processed_at": str,
            "error": str,
        },
        pk=("channel", "event_id"),
        not_null={"received_at"},
    )
    db.table("outbox").create(
        {
            "id": int,
            "channel": str,
            "idempotency_key": str,
            "action": str,
            "sku": str,
            "op": str,
            "reason": str,
            "created_at": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "done_at": str,
            "result": str,
        },
        pk="id",
        not_null={"channel", "idempotency_key", "op", "created_at"},
        defaults={"attempts": 0},
    )
    db.table("outbox").create_index(["idempotency_key"], unique=True)
    db.table("cursors").create(
        {"channel": str, "stream": str, "value": str, "updated_at": str},
        pk=("channel", "stream"),
    )
    db.table("conflicts").create(
        {
            "id": int,
            "channel": str,
            "entity": str,
            "canonical_key": str,
            "field": str,
            "ours": str,
            "theirs": str,
            "detected_at": str,
            "resolved_at": str,
        },
        pk="id",
    )
    db.table("audit").create(
        {"id": int, "at": str, "channel": str, "action": str, "key": str, "detail": str}, pk="id"
    )


@MIGRATIONS()
def m002_projections_and_queue_indexes(db: Database) -> None:
    """What we last wrote per channel, SKU and location (manual-change detection needs it), plus
    indexes that keep the inbox and outbox scans cheap when they grow, and the last successful poll."""
    db.table("projections").create(
        {
            "channel": str,
            "sku": str,
            "location": str,
            "quantity": int,
            "written_at": str,
        },
        pk=("channel", "sku", "location"),
    )
    db.table("outbox").create_index(["done_at", "channel", "next_attempt_at"], if_not_exists=True)
    db.table("inbox").create_index(["processed_at", "received_at"], if_not_exists=True)
    db.table("cursors").add_column("last_success_at", str)


@MIGRATIONS()
def m003_channel_snapshots(db: Database) -> None:
    """What each channel held when we last read it, one row per sellable variant.

    Incremental syncs read only what changed on a channel; to reconcile a changed SKU against the
    other channels without re-reading their whole catalogues, we keep their last-read state here.
    ``product`` is the JSON of the variant's ``ChannelProduct`` (the group, for creating it elsewhere).
    """
    db.table("channel_variants").create(
        {
            "channel": str,
            "variant_id": str,
            "product_id": str,
            "sku": str,
            "gtin": str,
            "hash": str,
            "product": str,
            "read_at": str,
        },
        pk=("channel", "variant_id"),
        not_null={"product_id", "product", "read_at"},
    )
    db.table("channel_variants").create_index(["sku"])
    db.table("channel_variants").create_index(["gtin"])
    db.table("channel_variants").create_index(["channel", "product_id"])
    # The agreed catalogue fields per SKU (the owners' values), the base that tells an edit from an echo.
    db.table("canonical").create({"sku": str, "data": str, "updated_at": str}, pk="sku")


@MIGRATIONS()
def m004_canonical_product_identity(db: Database) -> None:
    """Canonical products are identified by the owning channel's product (``woocommerce:123``)."""
    db.table("products").add_column("owner_ref", str)
    db.table("products").create_index(["owner_ref"], unique=True)


@MIGRATIONS()
def m005_unresolved_events(db: Database) -> None:
    """Stock events that could not be placed in the ledger (a sale of a variant not linked, or at a
    location not mapped), kept until they can be: the channel's cursor has moved past them.
    ``event`` is the JSON of the ``StockEvent``; ``resolved_at`` is set once it is accounted for."""
    db.table("unresolved_events").create(
        {
            "source_id": str,
            "channel": str,
            "variant_id": str,
            "sku": str,
            "event": str,
            "why": str,
            "first_seen_at": str,
            "resolved_at": str,
        },
        pk="source_id",
        not_null={"channel", "event", "first_seen_at"},
    )
    db.table("unresolved_events").create_index(["resolved_at", "channel", "variant_id"])
    db.table("unresolved_events").create_index(["resolved_at", "sku"])


MIGRATIONS()(m006_customers)  # persons, links, field provenance, purchases, customer conflicts


@MIGRATIONS()
def m007_baselines(db: Database) -> None:
    """The ``projections`` table held what each channel should show, the count we last wrote *or
    read* there (manual-change detection judges the next count against it): a baseline, not the
    projection we compute from the ledger. It becomes ``baselines``, and its ``written_at`` (also
    set for a count read) ``held_at``: when the channel held that count."""
    db.execute("ALTER TABLE projections RENAME TO baselines")
    db.execute("ALTER TABLE baselines RENAME COLUMN written_at TO held_at")


@MIGRATIONS()
def m008_marks(db: Database) -> None:
    """The engine's own marks (when a chunk was last planned, that a sync committed to the end,
    that a dry run was shown) were rows of ``cursors`` under the pseudo-channel ``_shopbridge``:
    they move to a ``marks`` table of their own, and ``cursors`` holds only channels' read cursors."""
    db.table("marks").create({"name": str, "value": str, "updated_at": str}, pk="name")
    db.execute(
        "INSERT INTO marks (name, value, updated_at) "
        "SELECT stream, value, updated_at FROM cursors WHERE channel = '_shopbridge'"
    )
    db.execute("DELETE FROM cursors WHERE channel = '_shopbridge'")


@MIGRATIONS()
def m009_links_channel_version(db: Database) -> None:
    """A link's ``version`` is the channel's own version of the object, a modification date on
    WooCommerce and a counter on Square: ``channel_version``, opaque text, never compared as a
    date or a number (only kept and compared for equality)."""
    db.execute("ALTER TABLE links RENAME COLUMN version TO channel_version")
    db.execute(
        "UPDATE links SET channel_version = CAST(channel_version AS TEXT) WHERE channel_version IS NOT NULL"
    )


@MIGRATIONS()
def m010_agreed_catalogue(db: Database) -> None:
    """The ``canonical`` table holds the agreed catalogue fields per SKU (each its owner's value):
    ``agreed_catalogue``. ("Canonical" is kept for the key of a link, ``canonical_key``.)"""
    db.execute("ALTER TABLE canonical RENAME TO agreed_catalogue")


@MIGRATIONS()
def m011_stock_events_channel_index(db: Database) -> None:
    """The ledger's events per channel and kind (what ``/metrics`` and ``status`` count on every
    scrape, :mod:`bridge.store.flow`) were counted by scanning the whole table: an index on
    ``(channel, kind)`` answers that count from the index alone, however long the ledger grows."""
    db.table("stock_events").create_index(["channel", "kind"], index_name="stock_events_channel_kind")


MIGRATIONS()(m012_customer_archive_and_rereads)  # archived persons, records to read again


@MIGRATIONS()
def m013_write_counts(db: Database) -> None:
    """Per channel, SKU and calendar day, how many writes shopbridge sent: a marketplace caps the
    revisions of a listing a day (eBay: 250), and that budget must survive a restart."""
    db.table("write_counts").create(
        {"channel": str, "sku": str, "day": str, "count": int, "updated_at": str},
        pk=("channel", "sku", "day"),
        not_null={"channel", "sku", "day", "count"},
    )


MIGRATIONS()(m014_customer_fields_seen_at)  # when the bridge first saw each customer field


@MIGRATIONS()
def m015_audit_action_key_index(db: Database) -> None:
    """The audit's entries by action and key: the purchase history asks, for each page of orders
    it records, whether their customers were erased here (``customer_erased``), so that reading the
    order stream again does not bring an erased record's orders back. Without the index that is a
    scan of the whole audit per page."""
    db.table("audit").create_index(["action", "key"], index_name="audit_action_key")


@MIGRATIONS()
def m016_ended_listings(db: Database) -> None:
    """The marketplace listings shopbridge ended because their SKU sold out on an account that
    refuses a quantity of 0 (eBay's 25004), and when each was listed again: the SKU stays linked
    while its listing is ended, and a restock must know which offer to publish. A row is never
    deleted: relisting fills ``relisted_at`` and the new listing's id."""
    db.table("ended_listings").create(
        {
            "id": int,
            "channel": str,
            "sku": str,
            "offer_id": str,
            "listing_id": str,
            "ended_at": str,
            "relisted_at": str,
            "relisted_listing_id": str,
        },
        pk="id",
        not_null={"channel", "sku", "offer_id", "ended_at"},
    )
    db.table("ended_listings").create_index(["channel", "relisted_at"], index_name="ended_listings_open")


SCHEMA_VERSION = 16
"""Number of migrations this version of shopbridge knows (``len(MIGRATIONS._migrations)``)."""
