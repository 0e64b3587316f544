"""Whose word counts is decided from the policy and the channels' capabilities, never from a
channel's name (bridge.ownership): a channel the engine has never heard of that counts per
location seeds a new SKU's stock, as Square does, rather than the web shop's single number."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bridge.capabilities import Capabilities, FieldSplit
from bridge.engine import Chunk, Context, decide
from bridge.ledger import LocationMap
from bridge.memory import Memory
from bridge.models import ChannelProduct, ChannelVariant, Money, StockEventKind, StockLevel
from bridge.ownership import owner_problems
from bridge.policy import SyncPolicy
from bridge.writes import CreateProduct

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


THREE = {
    "woocommerce": Capabilities(stock_mode="absolute", has_locations=False, max_batch=100),
    "square": Capabilities(stock_mode="relative", has_locations=True, max_batch=1000),
    "kiosk": Capabilities(stock_mode="absolute", has_locations=False, max_batch=50),
}


def _held(channel: str, pid: str, skus: dict[str, str], name: str, description: str) -> ChannelProduct:
    """A product of ``channel`` with a variant per SKU at its price (``{sku: "12.00"}``)."""
    variants = tuple(
        ChannelVariant(
            channel_id=f"{pid}-{sku}",
            sku=sku,
            price=Money(amount=Decimal(price), currency="USD"),
            gtin=f"GTIN-{sku}",
            manage_stock=True,
            stock=4,
        )
        for sku, price in skus.items()
    )
    return ChannelProduct(
        channel=channel,
        channel_id=pid,
        name=name,
        description=description,
        kind="variable" if len(variants) > 1 else "simple",
        variants=variants,
    )


def _creates_on_kiosk(policy: SyncPolicy, products: dict[str, list[ChannelProduct]]) -> list[ChannelProduct]:
    """The products the engine plans to create on the kiosk, which holds none of them."""
    locations = LocationMap(keys=("L1",), channel_ids={("square", "L1"): "L1"})
    outcome = decide(
        Chunk(products={**products, "kiosk": []}),
        Memory(),
        Context(
            policy=policy,
            capabilities=THREE,
            locations=locations,
            counted_at={name: T0 for name in THREE},
            events_read_until={name: T0 for name in THREE},
        ),
    )
    creates = [c.op for c in outcome.plan.changes if c.channel == "kiosk" and c.action == "create"]
    return [op.product for op in creates if isinstance(op, CreateProduct)]


def test_a_product_created_elsewhere_takes_each_variant_field_from_its_owner() -> None:
    """WooCommerce creates, Square owns the price: the kiosk's copy has Square's price and GTIN
    owner WooCommerce's the rest, not the creator's price to be corrected by the next sync."""
    policy = SyncPolicy(default_location="L1", field_owners={"price": "square"})
    (made,) = _creates_on_kiosk(
        policy,
        {
            "woocommerce": [_held("woocommerce", "10", {"MUG-S": "12.00", "MUG-L": "14.00"}, "Mug", "Big")],
            "square": [_held("square", "I1", {"MUG-S": "11.00", "MUG-L": "13.50"}, "MUG", "till")],
        },
    )
    assert (made.name, made.description) == ("Mug", "Big")
    prices = {v.sku: v.price.amount if v.price else None for v in made.variants}
    assert prices == {"MUG-S": Decimal("11.00"), "MUG-L": Decimal("13.50")}


def test_a_product_created_elsewhere_takes_its_name_from_the_name_owner() -> None:
    """Square creates (it is the system of record), WooCommerce owns name and description."""
    policy = SyncPolicy(
        system_of_record="square",
        default_location="L1",
        field_owners={"name": "woocommerce", "description": "woocommerce"},
    )
    (made,) = _creates_on_kiosk(
        policy,
        {
            "woocommerce": [_held("woocommerce", "10", {"CAP": "20.00"}, "Wool cap", "Warm")],
            "square": [_held("square", "I1", {"CAP": "19.00"}, "CAP WOOL", "")],
        },
    )
    assert (made.name, made.description) == ("Wool cap", "Warm")
    assert [v.price.amount if v.price else None for v in made.variants] == [Decimal("19.00")]


def test_a_field_owner_without_the_sku_leaves_the_creators_value() -> None:
    """Square owns the price but does not hold the SKU: the creator's price is all there is."""
    policy = SyncPolicy(default_location="L1", field_owners={"price": "square"})
    (made,) = _creates_on_kiosk(
        policy,
        {
            "woocommerce": [_held("woocommerce", "10", {"SOAP": "5.00"}, "Soap", "Lavender")],
            "square": [],
        },
    )
    assert [v.price.amount if v.price else None for v in made.variants] == [Decimal("5.00")]


def _in_sync(kiosk: Capabilities) -> list[tuple[str, str, tuple[str, ...]]]:
    """WooCommerce (the owner) renamed and repriced a product the kiosk holds too: the changes
    planned for the kiosk as ``(action, op type, fields)``. The kiosk shows no description or
    GTIN where it does not keep them."""
    capabilities = {"woocommerce": THREE["woocommerce"], "kiosk": kiosk}
    now = _held("woocommerce", "10", {"LAMP": "35.00"}, "Desk lamp", "Brass")
    shown = _held("kiosk", "K1", {"LAMP": "30.00"}, "Lamp", "Brass")
    if not kiosk.fields.holds("description"):
        shown = shown.model_copy(update={"description": None})
    if not kiosk.fields.holds("gtin"):
        shown = shown.model_copy(
            update={"variants": tuple(v.model_copy(update={"gtin": None}) for v in shown.variants)}
        )
    remembered = {
        "name": "Lamp",
        "description": "Brass",
        "price": "30 USD",
        "gtin": "GTIN-LAMP",
        "status": "active",
    }
    outcome = decide(
        Chunk(products={"woocommerce": [now], "kiosk": [shown]}),
        Memory(catalogue={"LAMP": remembered}),
        Context(
            policy=SyncPolicy(default_location="L1"),
            capabilities=capabilities,
            locations=LocationMap(keys=("L1",)),
            counted_at={name: T0 for name in capabilities},
            events_read_until={name: T0 for name in capabilities},
        ),
    )
    return [
        (c.action, type(c.op).__name__, tuple(sorted(c.fields)))
        for c in outcome.plan.changes
        if c.channel == "kiosk"
    ]


def test_each_field_is_written_where_the_channel_declares_it_lives() -> None:
    """The common shape: the name on the product, the price on the variant..."""
    common = Capabilities(stock_mode="absolute", has_locations=False, max_batch=50)
    assert sorted(_in_sync(common)) == [
        ("update", "UpdateProduct", ("name",)),
        ("update", "UpdateVariant", ("price",)),
    ]
    # ...a channel keeping the name on each listing (variant) gets it there, with the price.
    per_listing = FieldSplit(product=frozenset({"status"}), variant=frozenset({"name", "price", "gtin"}))
    kiosk = Capabilities(stock_mode="absolute", has_locations=False, max_batch=50, fields=per_listing)
    assert _in_sync(kiosk) == [("update", "UpdateVariant", ("name", "price"))]


def test_a_field_the_channel_does_not_keep_is_never_written_there() -> None:
    """A kiosk without GTINs or descriptions is not sent the owner's (each sync again, as the
    value it shows, none, never equals the owner's)."""
    bare = FieldSplit(product=frozenset({"name", "status"}), variant=frozenset({"price"}))
    kiosk = Capabilities(stock_mode="absolute", has_locations=False, max_batch=50, fields=bare)
    planned = _in_sync(kiosk)
    assert sorted(planned) == [
        ("update", "UpdateProduct", ("name",)),
        ("update", "UpdateVariant", ("price",)),
    ]


def test_an_owner_that_does_not_keep_its_field_is_a_problem_named_by_key() -> None:
    bare = FieldSplit(product=frozenset({"name", "status"}), variant=frozenset({"price"}))
    capabilities = {
        "woocommerce": THREE["woocommerce"],
        "square": Capabilities(stock_mode="relative", has_locations=True, max_batch=1000, fields=bare),
    }
    policy = SyncPolicy(field_owners={"gtin": "square", "price": "square"})
    assert owner_problems(policy, capabilities) == [
        ("sync.field_owners.gtin", "square does not keep gtin (it keeps name, price, status)")
    ]
    assert owner_problems(policy, {"woocommerce": THREE["woocommerce"]}) == [
        ("sync.field_owners.gtin", "unknown channel 'square'; known channels: woocommerce"),
        ("sync.field_owners.price", "unknown channel 'square'; known channels: woocommerce"),
    ]
