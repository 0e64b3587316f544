"""``[channels.ebay]``: where eBay is and the app's and user's credentials, all secrets resolved like
every channel's (``{ env = ... }``, ``{ file = ... }``, ``{ credential = ... }``), and the auth and
transport built from them.

The client id is not secret (it is in every consent URL); the client secret and the refresh token
are. The access token is never configured: it is minted from the refresh token and lives in memory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adapters.ebay_auth import API_ROOTS, EbayAuth
from adapters.ebay_client import EbayClient
from bridge.settings import ChannelSection, HttpUrl, Secret

__all__ = ["EbaySection", "client_from"]


class EbaySection(ChannelSection):
    """The eBay channel's connection settings."""

    environment: Literal["production", "sandbox", "custom"] = "production"
    base_url: HttpUrl | None = Field(
        None, description="Only with environment = 'custom' (the local emulator)"
    )
    client_id: str = Field(
        min_length=1, description="The app's client id (App ID) from eBay's developer portal"
    )
    client_secret: Secret
    refresh_token: Secret
    ru_name: str | None = Field(None, description="The app's redirect URL name (RuName), for the consent URL")
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _base(self) -> EbaySection:
        if self.environment == "custom" and not self.base_url:
            raise ValueError("environment = 'custom' needs base_url")
        return self

    def api_root(self) -> str:
        return self.base_url.rstrip("/") if self.base_url else API_ROOTS[self.environment]


def client_from(section: EbaySection) -> EbayClient:
    """The transport for a resolved section (its secrets already looked up by the configuration)."""
    root = section.api_root()
    auth = EbayAuth(
        root,
        section.client_id,
        section.client_secret.get(),
        section.refresh_token.get(),
        timeout=section.timeout_seconds,
    )
    return EbayClient(root, auth, timeout=section.timeout_seconds)
