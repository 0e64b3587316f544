"""The store's catalogue: what each channel held when last read (``channel_variants``, one row per
variant with its product), the agreed catalogue fields per SKU (``agreed_catalogue``, what the
next plan tells an edit from an echo by), and the agreed catalogue grouped as the owner groups it
(``products``, ``variants``: what ``status`` counts).

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on these tables is here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.models import ChannelProduct, content_hash
from bridge.storage import CatalogueFigures, SeenVariant
from bridge.store.base import StoreBase, upsert_sql, utcnow
from bridge.store.chunked import KEYS, by_first, execute_in, rows_in

__all__ = ["CatalogueTables"]

_SAVE_LAST_READ = (
    "INSERT OR REPLACE INTO channel_variants "
    "(channel, variant_id, product_id, sku, gtin, hash, product, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SAVE_VARIANT = upsert_sql(
    "variants", ("sku", "product_id", "gtin", "name", "price", "currency", "status", "updated_at"), ("sku",)
)


class CatalogueTables(StoreBase):
    """What the channels held when last read, and the agreed catalogue."""

    def save_last_read(self, channel: str, products: Iterable[ChannelProduct]) -> int:
        """Remember what ``channel`` holds for these products (replacing their previous rows)."""
        now = utcnow()
        rows: list[tuple[str | None, ...]] = []
        product_ids: list[str] = []
        for product in products:
            product_ids.append(product.channel_id)
            data = product.model_dump_json()
            for variant in product.variants:
                digest = content_hash(
                    variant.model_dump(mode="json", exclude={"modified_at", "version", "counted_at"})
                )
                rows.append(
                    (
                        channel,
                        variant.channel_id,
                        product.channel_id,
                        variant.sku,
                        variant.gtin,
                        digest,
                        data,
                        now,
                    )
                )
        with self.transaction() as db:
            sql = f"DELETE FROM channel_variants WHERE channel = ? AND product_id IN {KEYS}"
            execute_in(db.conn, sql, product_ids, before=[channel])
            db.conn.executemany(_SAVE_LAST_READ, rows)
        return len(rows)

    def last_read(self, channel: str, variant_ids: Iterable[str] | None = None) -> list[ChannelProduct]:
        """The products last read from ``channel`` (only those holding one of ``variant_ids`` if given)."""
        return [
            ChannelProduct.model_validate_json(data)
            for data in self.last_read_json(channel, variant_ids).values()
        ]

    def last_read_json(self, channel: str, variant_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Product id -> the JSON of :meth:`last_read`'s products, not parsed (a caller that already
        holds some of them parses only the others)."""
        if variant_ids is None:
            rows = self.db.execute(
                "SELECT product_id, product FROM channel_variants WHERE channel = ? GROUP BY product_id",
                [channel],
            ).fetchall()
        else:
            sql = (
                "SELECT product_id, product FROM channel_variants "
                f"WHERE channel = ? AND variant_id IN {KEYS} GROUP BY product_id"
            )
            rows = rows_in(self.db.conn, sql, variant_ids, before=[channel])
        return {r[0]: r[1] for r in rows}

    def forget_last_read(self, variants: Iterable[tuple[str, str]]) -> None:
        """Forget the last-read state of these ``(channel, variant id)`` (gone from the channel)."""
        sql = f"DELETE FROM channel_variants WHERE channel = ? AND variant_id IN {KEYS}"
        with self.transaction() as db:
            for channel, variant_ids in by_first(variants).items():
                execute_in(db.conn, sql, variant_ids, before=[channel])

    def last_read_with_skus(self, skus: Iterable[str]) -> dict[str, list[ChannelProduct]]:
        """Channel -> the products last read holding one of ``skus``, linked or not (a SKU used twice
        in a channel links neither variant, yet both must be seen whenever that SKU is planned)."""
        return {
            channel: [ChannelProduct.model_validate_json(data) for data in held.values()]
            for channel, held in self.last_read_json_with_skus(skus).items()
        }

    def last_read_json_with_skus(self, skus: Iterable[str]) -> dict[str, dict[str, str]]:
        """Channel -> product id -> the JSON of :meth:`last_read_with_skus`'s products, not parsed."""
        rows = rows_in(
            self.db.conn,
            f"SELECT channel, product_id, product FROM channel_variants WHERE sku IN {KEYS} "
            "GROUP BY channel, product_id",
            skus,
        )
        out: dict[str, dict[str, str]] = {}
        for channel, product_id, data in rows:
            out.setdefault(channel, {})[product_id] = data
        return out

    def last_read_at(self, channel: str) -> str | None:
        """When a product of ``channel`` was last read (``None``: never read)."""
        row = self.db.execute(
            "SELECT max(read_at) FROM channel_variants WHERE channel = ?", [channel]
        ).fetchone()
        return None if row is None else row[0]

    def last_read_variants(
        self, channel: str, *, variant_id: str | None = None, product_id: str | None = None
    ) -> list[SeenVariant]:
        """``variant_id``, ``product_id``, ``sku`` and ``read_at`` of the variants in ``channel``'s
        last read with this variant id or this product id (ordered by variant id)."""
        rows = self.db.execute(
            "SELECT variant_id, product_id, sku, read_at FROM channel_variants WHERE channel = ? "
            "AND (variant_id = ? OR product_id = ?) ORDER BY variant_id",
            [channel, variant_id, product_id],
        )
        return [SeenVariant(*row) for row in rows]

    def save_catalogue(self, entries: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Record the agreed catalogue: ``(owner product ref, sku, fields)`` with the fields'
        ``name``, ``description``, ``status``, ``gtin`` and ``price`` (``"12.5 USD"``)."""
        rows = list(entries)
        if not rows:
            return
        now = utcnow()
        with self.transaction() as db:
            db.conn.executemany(
                "INSERT INTO products (owner_ref, name, description, status, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner_ref) DO UPDATE SET name = excluded.name, "
                "description = excluded.description, status = excluded.status, "
                "updated_at = excluded.updated_at",
                [
                    (
                        ref,
                        fields.get("name"),
                        fields.get("description"),
                        fields.get("status") or "active",
                        now,
                    )
                    for ref, _, fields in rows
                ],
            )
            ids: dict[str, int] = dict(
                rows_in(
                    db.conn,
                    f"SELECT owner_ref, id FROM products WHERE owner_ref IN {KEYS}",
                    [r[0] for r in rows],
                )
            )
            variants = []
            for ref, sku, fields in rows:
                amount, _, currency = (fields.get("price") or "").partition(" ")
                variants.append(
                    (
                        sku,
                        ids[ref],
                        fields.get("gtin"),
                        fields.get("name"),
                        amount or None,
                        currency or None,
                        fields.get("status") or "active",
                        now,
                    )
                )
            db.conn.executemany(_SAVE_VARIANT, variants)

    def agreed_catalogue(self, skus: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The agreed catalogue fields per SKU (all SKUs, or only ``skus``)."""
        return {
            r[0]: json.loads(r[1])
            for r in self._rows_for("SELECT sku, data FROM agreed_catalogue", "sku", skus)
        }

    def catalogue_figures(self) -> CatalogueFigures:
        """The agreed catalogue's products and variants (the ``products`` and ``variants`` tables
        that every sync's commit keeps, grouped by the owning channel's products)."""
        products, variants, archived = self.db.execute(
            "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants), "
            "(SELECT count(*) FROM variants WHERE status = 'archived')"
        ).fetchone()
        return CatalogueFigures(products=products, variants=variants, archived_variants=archived)
