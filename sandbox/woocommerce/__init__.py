"""A local WooCommerce (``wp-json/wc/v3``) emulator, so the WooCommerce adapter is tested over real HTTP.

The adapter must cope with WooCommerce as it actually behaves, not as we would like it to: prices
are strings, ``stock_quantity`` is null unless stock is managed, variations may report
``manage_stock: "parent"``, dates have no zone (plus ``_gmt`` twins) and one-second resolution,
``modified_after`` is strict, batches are capped at 100 and not atomic, webhooks are signed but
never retried, and errors come as ``{"code", "message", "data": {"status"}}``.  This package
reproduces those behaviours (see ``shared/reference/woocommerce-api.md``) on top of the shared
:class:`~sandbox.http.EmulatorServer`, with an in-memory store behind one lock.

Deliberate simplifications (documented so nobody mistakes them for WooCommerce facts):

* totals ignore taxes, shipping and coupons; ``price`` of a line item is ``total / quantity``;
* Basic auth and ``consumer_key``/``consumer_secret`` query auth are accepted over plain http
  (real WooCommerce accepts them only over https); OAuth 1.0a is verified as WooCommerce does;
* webhook payloads are built when the event happens (WooCommerce builds them at delivery time
  and coalesces repeated updates); several ``Link`` relations are joined in one header;
* ``GET /wc/v3/variations`` (WooCommerce >= 10.3) is available, with ``modified_after``.

Listing order and paging, as the adapter's incremental reads depend on them:

* ``orderby=modified`` (and ``date``) breaks ties by id, in the same direction. That is what the
  CRUD controller asks for (it appends ``ID``) and what variations and orders get. The V3 products
  controller passes the ``orderby`` through ``WC_Query::get_catalog_ordering_args``, which lower-cases
  ``"modified ID"`` and WP_Query ignores a lower-case ``id`` (read from source, not seen on a live
  store), so a real store may return tied products in any order. Setting ``shuffle_product_ties``
  to a ``random.Random`` reproduces that: tied products come back in a new order on every request.
* ``offset`` (a number of items) overrides ``page``, as in ``WP_Query``; ``X-WP-Total`` is still the
  whole filtered count, and ``Link`` is still built from ``page``. A page that comes back empty
  reports ``X-WP-Total: 0`` (``WP_Query`` counts nothing when it finds nothing, and the CRUD
  controller only re-counts for ``page`` > 1 without ``offset``); customers and webhooks, which
  WooCommerce counts another way, are treated the same here.
* ``include`` and ``exclude`` (ids, comma-separated or repeated) filter every listing that pages.

Layout: :class:`WooCommerceEmulator` (``emulator``) is a stack of mixins over one store
(``state.WooState``), each module one job: ``stock`` (whose ``_stock`` a record shows and its
status), ``views`` (the JSON answered), ``rest`` (what every endpoint shares: args, paging,
ordering, filters, batch), ``search``, ``webhooks`` (the resource and the signed deliveries),
``stock_rules`` (what orders do to stock), ``products``, ``variations``, ``customers``, ``orders``,
``auth`` (API keys, OAuth 1.0a, webhook signatures), ``routes`` (the route table); ``wire`` and
``errors`` are the shared formats.
"""

from __future__ import annotations

from sandbox.woocommerce.auth import oauth_query
from sandbox.woocommerce.emulator import WooCommerceEmulator
from sandbox.woocommerce.errors import WooApiError
from sandbox.woocommerce.wire import PREFIX

__all__ = ["PREFIX", "WooApiError", "WooCommerceEmulator", "oauth_query"]
