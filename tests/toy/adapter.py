"""The toy channel's adapter (tests only): :class:`adapters.base.ChannelAdapter` over the toy
emulator's JSON API, with the same retry policy, error split and read-issue reporting as the real
adapters, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from pydantic import BaseModel

import adapters.base as base
from adapters.base import (
    ArchiveProduct,
    AuthError,
    Capabilities,
    ChannelAdapter,
    CreateProduct,
    Page,
    PermanentError,
    SetStock,
    TransientError,
    UpdateProduct,
    UpdateVariant,
    WebhookRejected,
    WriteOp,
    WriteResult,
    parse_retry_after,
)
from adapters.issues import ReadIssue, validate_item
from bridge.capabilities import FieldSplit
from bridge.models import (
    ChannelCustomer,
    ChannelLocation,
    ChannelProduct,
    ChannelVariant,
    Money,
    ProductStatus,
    StockEvent,
    StockEventKind,
    StockLevel,
    WebhookEvent,
)

LOCATION = "default"


class _WireVariant(BaseModel):
    id: str
    sku: str | None = None
    price: Decimal | None = None
    gtin: str | None = None
    status: str = "active"
    stock: int


class _WireProduct(BaseModel):
    id: str
    name: str
    description: str | None = None
    status: str = "active"
    version: int
    variants: list[dict[str, Any]]


class ToyAdapter(ChannelAdapter):
    """The toy shop. One count per variant (absolute writes), no locations."""

    name = "toy"
    capabilities = Capabilities(
        stock_mode="absolute",
        has_locations=False,
        max_batch=50,
        fields=FieldSplit(
            product=frozenset({"name", "description", "status"}), variant=frozenset({"price", "gtin"})
        ),
    )
    """Its products carry name, description and status; its variants price and GTIN (what its
    ``PUT /api/products/<id>`` and ``PUT /api/variants/<id>`` take)."""

    def __init__(
        self, url: str, token: str, webhook_secret: str, *, max_attempts: int = 5, currency: str = "USD"
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.webhook_secret = webhook_secret
        self.max_attempts = max_attempts
        self.currency = currency
        self.calls = 0
        self._session = requests.Session()

    # -- HTTP --------------------------------------------------------------------------------------

    def _once(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Any:
        self.calls += 1
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            answer = self._session.request(
                method, self.url + path, params=params, json=body, headers=headers, timeout=10
            )
        except requests.RequestException as exc:
            raise TransientError(f"toy: {exc}") from exc
        if answer.status_code in (401, 403):
            raise AuthError(f"toy: HTTP {answer.status_code}: {answer.text}", status=answer.status_code)
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TransientError(
                f"toy: HTTP {answer.status_code}",
                status=answer.status_code,
                retry_after=parse_retry_after(answer.headers.get("Retry-After")),
            )
        if answer.status_code >= 400:
            raise PermanentError(f"toy: HTTP {answer.status_code}: {answer.text}", status=answer.status_code)
        return answer.json()

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One request with the shared retry policy (:func:`adapters.base.retrying`)."""
        for attempt in base.retrying(self.max_attempts, 0.05, 60.0):
            with attempt:
                return self._once(method, path, params, body)
        raise AssertionError("unreachable")

    # -- reads -------------------------------------------------------------------------------------

    def check(self) -> str:
        me = self._once("GET", "/api/me", None, None)
        return f"{self.url}: {me['products']} products"

    def list_locations(self) -> list[ChannelLocation]:
        return [ChannelLocation(channel=self.name, channel_id=LOCATION, name="Toy shop")]

    def read_catalog(self, cursor: str | None = None) -> Page[ChannelProduct]:
        start = self.calls
        answer = self._call("GET", "/api/products", {"since": cursor or 0})
        at = datetime.fromisoformat(answer["at"])
        items: list[ChannelProduct] = []
        issues: list[ReadIssue] = []
        for raw in answer["products"]:
            product, issue = self._product(raw, at)
            items.extend([product] if product else [])
            issues.extend([issue] if issue else [])
        return Page(items=items, cursor=str(answer["seq"]), calls=self.calls - start, issues=issues)

    def _product(self, raw: Any, at: datetime) -> tuple[ChannelProduct | None, ReadIssue | None]:
        """A product, or why it is skipped (the first field of it, or of a variant, that is wrong)."""
        problem = validate_item(_WireProduct, raw)
        for variant in raw.get("variants") or [] if problem is None else []:
            problem = problem or validate_item(_WireVariant, variant)
        if problem is not None:
            skus = tuple(
                str(v.get("sku")) for v in raw.get("variants") or [] if isinstance(v, dict) and v.get("sku")
            )
            return None, ReadIssue(
                channel=self.name,
                kind="product",
                object_id=str(raw.get("id")),
                field=problem[0],
                problem=problem[1],
                skus=skus,
                holds=True,
            )
        wire = _WireProduct.model_validate(raw)
        variants = tuple(self._variant(_WireVariant.model_validate(v), at) for v in wire.variants)
        return ChannelProduct(
            channel=self.name,
            channel_id=wire.id,
            name=wire.name,
            description=wire.description,
            status=_status(wire.status),
            kind="variable" if len(variants) > 1 else "simple",
            variants=variants,
            version=str(wire.version),
        ), None

    def _variant(self, wire: _WireVariant, at: datetime) -> ChannelVariant:
        return ChannelVariant(
            channel_id=wire.id,
            sku=wire.sku,
            gtin=wire.gtin,
            status=_status(wire.status),
            price=Money(amount=wire.price, currency=self.currency) if wire.price is not None else None,
            manage_stock=True,
            stock=wire.stock,
            counted_at=at,
        )

    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[StockLevel]:
        params = {"ids": ",".join(variant_ids)} if variant_ids is not None else None
        answer = self._call("GET", "/api/stock", params)
        at = datetime.fromisoformat(answer["at"])
        return [
            StockLevel(
                channel=self.name,
                variant_id=lv["variant_id"],
                location_id=LOCATION,
                quantity=lv["quantity"],
                observed_at=at,
            )
            for lv in answer["levels"]
        ]

    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        start = self.calls
        answer = self._call("GET", "/api/events", {"since": cursor or 0})
        events = [
            StockEvent(
                source_id=f"toy:sale:{e['id']}",
                channel=self.name,
                kind=StockEventKind.SALE,
                delta=e["delta"],
                occurred_at=datetime.fromisoformat(e["at"]),
                variant_id=e["variant_id"],
            )
            for e in answer["events"]
        ]
        return Page(
            items=events,
            cursor=str(answer["next"]),
            calls=self.calls - start,
            read_until=datetime.fromisoformat(answer["at"]),
        )

    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        return Page(items=[], cursor=cursor)

    # -- writes ------------------------------------------------------------------------------------

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        creates = [op for op in ops if isinstance(op, CreateProduct)]
        made = self._create(creates) if creates else {}
        return [made[op.key] if op.key in made else self._apply_one(op) for op in ops]

    def _create(self, ops: Sequence[CreateProduct]) -> dict[str, WriteResult]:
        """Every create in one call, each product with its key: sent again (a retry, a restart
        after a lost answer), the toy shop answers with what it made the first time."""
        body = {"products": [_wire_product(op) for op in ops]}
        try:
            answer = self._call("POST", "/api/products", body=body)
        except AuthError:
            raise
        except PermanentError as exc:
            return {op.key: WriteResult(key=op.key, ok=False, error=str(exc)) for op in ops}
        except TransientError as exc:
            return {op.key: WriteResult(key=op.key, ok=False, retryable=True, error=str(exc)) for op in ops}
        results = {}
        for op, made in zip(ops, answer["products"], strict=True):
            ids = {v["sku"]: v["id"] for v in made["variants"] if v["sku"]}
            results[op.key] = WriteResult(
                key=op.key, ok=True, channel_id=made["id"], ids=ids, version=str(made["version"])
            )
        return results

    def _apply_one(self, op: WriteOp) -> WriteResult:
        try:
            return self._write(op)
        except AuthError:
            raise  # nothing of it happened: the caller keeps it queued
        except PermanentError as exc:
            return WriteResult(key=op.key, ok=False, error=str(exc))
        except TransientError as exc:
            return WriteResult(key=op.key, ok=False, retryable=True, error=str(exc))

    def _write(self, op: WriteOp) -> WriteResult:
        if isinstance(op, UpdateProduct):
            made = self._call("PUT", f"/api/products/{op.product_id}", body=_wire_fields(op.fields))
            return WriteResult(
                key=op.key,
                ok=True,
                channel_id=op.product_id,
                version=str(made["version"]),
                written=dict(op.fields),
            )
        if isinstance(op, UpdateVariant):
            made = self._call("PUT", f"/api/variants/{op.variant_id}", body=_wire_fields(op.fields))
            return WriteResult(
                key=op.key,
                ok=True,
                channel_id=op.variant_id,
                version=str(made["version"]),
                written=dict(op.fields),
            )
        if isinstance(op, SetStock):
            [level] = self._call(
                "PUT", "/api/stock", body={"levels": [{"variant_id": op.variant_id, "quantity": op.quantity}]}
            )["levels"]
            return WriteResult(key=op.key, ok=True, channel_id=op.variant_id, version=str(level["version"]))
        if isinstance(op, ArchiveProduct):
            made = self._call("PUT", f"/api/products/{op.product_id}", body={"status": "archived"})
            return WriteResult(key=op.key, ok=True, channel_id=op.product_id, version=str(made["version"]))
        return WriteResult(key=op.key, ok=False, error=f"toy cannot {op.op}")

    # -- webhooks ----------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        given = {k.lower(): v for k, v in headers.items()}.get("x-toy-signature", "")
        wanted = base64.b64encode(
            hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()
        ).decode()
        if not given or not hmac.compare_digest(given, wanted):
            raise WebhookRejected("toy: bad or missing signature")
        data = json.loads(body)
        return WebhookEvent(
            channel=self.name,
            event_id=data["event_id"],
            topic=data["topic"],
            resource="product",
            resource_id=data["id"],
        )


def _status(text: str) -> ProductStatus:
    return ProductStatus.ARCHIVED if text == "archived" else ProductStatus.ACTIVE


def _wire_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Our field values as the toy API takes them (a price as its decimal text; the outbox hands
    over Money as its JSON form)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "price" and value is not None:
            out[name] = _price(Money.model_validate(value))
        else:
            out[name] = value.value if isinstance(value, ProductStatus) else value
    return out


def _price(money: Money) -> str:
    return f"{money.amount:.2f}"


def _wire_product(op: CreateProduct) -> dict[str, Any]:
    return {
        "key": op.key,
        "name": op.product.name,
        "description": op.product.description,
        "variants": [
            {
                "sku": v.sku,
                "gtin": v.gtin,
                "price": _price(v.price) if v.price else None,
                "stock": v.stock or 0,
            }
            for v in op.product.variants
        ],
    }
