"""Whose word counts is decided from the policy and the channels' capabilities, never from a
channel's name (bridge.ownership): a channel the engine has never heard of that counts per
location seeds a new SKU's stock, as Square does, rather than the web shop's single number."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bridge.capabilities import Capabilities
from bridge.engine import Chunk, Context, decide
from bridge.ledger import LocationMap
from bridge.memory import Memory
from bridge.models import ChannelProduct, ChannelVariant, Money, StockEventKind, StockLevel
from bridge.policy import SyncPolicy

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _product(channel: str, pid: str, vid: str, *, stock: int | None = None) -> ChannelProduct:
    price = Money(amount=Decimal("20"), currency="USD")
    variant = ChannelVariant(channel_id=vid, sku="TEE", price=price, manage_stock=True, stock=stock)
    return ChannelProduct(channel=channel, channel_id=pid, name="Tee", variants=(variant,))


def test_a_new_sku_is_seeded_from_the_channel_counting_per_location_whatever_its_name() -> None:
    capabilities = {
        "kiosk": Capabilities(stock_mode="relative", has_locations=True, max_batch=50),
        "woocommerce": Capabilities(stock_mode="absolute", has_locations=False, max_batch=100),
    }
    locations = LocationMap(keys=("K1",), channel_ids={("kiosk", "K1"): "K1"})
    outcome = decide(
        Chunk(
            products={
                "kiosk": [_product("kiosk", "KP1", "KV1")],
                "woocommerce": [_product("woocommerce", "10", "10", stock=9)],
            },
            levels=[
                StockLevel(channel="kiosk", variant_id="KV1", location_id="K1", quantity=7, observed_at=T0)
            ],
        ),
        Memory(),
        Context(
            policy=SyncPolicy(default_location="K1"),
            capabilities=capabilities,
            locations=locations,
            counted_at={name: T0 for name in capabilities},
            events_read_until={name: T0 for name in capabilities},
            first_sync=True,
        ),
    )
    seeds = [
        (e.channel, e.location, e.delta) for e in outcome.new_entries if e.kind is StockEventKind.INITIAL
    ]
    assert seeds == [("kiosk", "K1", 7)]
    # ...and the web shop is then written the ledger's stock, not the other way round.
    assert [(c.channel, c.action, c.after) for c in outcome.plan.changes if c.action == "set_stock"] == [
        ("woocommerce", "set_stock", 7)
    ]
