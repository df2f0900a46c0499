"""The embeddable widget's schemas: a tenant's widget settings, the public config a frame reads, visitor sessions.

A company embeds the widget with one tag naming an API key's id (public, not the secret). The settings say which
sites may frame it (``allowed_origins``, enforced by the browser through ``frame-ancestors``) and how it looks.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from app.contracts.api import Model

#: Longest avatar accepted: a small data: URL image (the frame's CSP admits images from itself and data: only).
MAX_AVATAR_CHARS = 48_000
AVATAR_PATTERN = r"^data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"
#: A visitor's secret: 43 URL-safe base64 characters (32 random bytes), kept by the frame in the browser.
VISITOR_SECRET_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105  (a format, not a secret)
MAX_ALLOWED_ORIGINS = 20
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")

BrandName = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Greeting = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, https (http only for loopback); ``*.`` admits subdomains.

    Anything else (a path, a query, credentials, another scheme, a bare ``*``) is refused with the reason: a
    frame-ancestors source that is wider than the admin meant would let any site frame the chat.
    """
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or not _HOST.match(host):
        raise ValueError(f"{value!r} is not an origin: write scheme://host[:port], e.g. https://www.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} has more than an origin (a path, query or credentials): remove it")
    loopback = host in ("localhost", "127.0.0.1") or host.endswith(".localhost")
    if parts.scheme == "http" and not loopback:
        raise ValueError(f"{value!r} is plain http: only https sites (or loopback, for development) may embed it")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class WidgetSettings(Model):
    """What a tenant admin sets (``PUT /v1/widget-settings``)."""

    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=MAX_ALLOWED_ORIGINS,
        description="Sites that may embed the widget, as origins (https://www.example.com; *.example.com admits "
        "subdomains). Empty: no site may frame it.",
    )
    brand_name: BrandName | None = Field(
        default=None, description="Shown in the widget's header; the tenant's name if unset."
    )
    accent_colour: Annotated[str, StringConstraints(pattern=COLOUR_PATTERN)] = Field(
        default="#1f5fbf",
        description="The launcher's and the header's colour (#rrggbb); text on it is black or white, "
        "whichever contrasts more.",
    )
    avatar: Annotated[str, StringConstraints(max_length=MAX_AVATAR_CHARS, pattern=AVATAR_PATTERN)] | None = Field(
        default=None, description="The assistant's picture as a data: URL (png, jpeg, webp or gif, base64)."
    )
    greeting: Greeting = Field(
        default="Hi! How can we help you today?", description="The first message a visitor sees (not stored)."
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        normalised, errors = set(), []
        for origin in origins:
            try:
                normalised.add(normalise_origin(origin))
            except ValueError as exc:
                errors.append(str(exc))
        if errors:  # every bad entry at once, not the first only
            raise ValueError("; ".join(errors))
        return sorted(normalised)


class WidgetConfig(Model):
    """What the frame reads before it starts (public: everything here is visible on the embedding site anyway)."""

    key_id: UUID
    brand_name: str
    accent_colour: str
    avatar: str | None
    greeting: str
    allowed_origins: list[str]


class WidgetSessionRequest(Model):
    """A frame asking for a visitor's token: the key from the tag, the site it runs on, the visitor's secret."""

    key_id: UUID
    host_origin: Annotated[str, StringConstraints(max_length=300)]
    visitor_secret: Annotated[str, StringConstraints(pattern=VISITOR_SECRET_PATTERN)] | None = Field(
        default=None,
        description="The secret of a returning visitor (their conversations are theirs); none: a new visitor.",
    )


class WidgetSession(Model):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int
    visitor_secret: str = Field(description="Keep it in the browser: it is this visitor's identity on this site.")


class CsatCreate(Model):
    """The customer's satisfaction with a finished conversation (asked by the widget once it is resolved)."""

    score: int = Field(ge=1, le=5, description="1 (very poor) to 5 (excellent).")
    comment: Annotated[str, StringConstraints(max_length=1000, strip_whitespace=True)] | None = None


class Csat(Model):
    conversation_id: UUID
    score: int
    comment: str | None
    created_at: datetime


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """Whether ``origin`` matches one of ``allowed`` (exactly, or a ``*.`` pattern's subdomains), as CSP does."""
    try:
        candidate = normalise_origin(origin)
    except ValueError:
        return False
    scheme, _, rest = candidate.partition("://")
    for pattern in allowed:
        pattern_scheme, _, pattern_rest = pattern.partition("://")
        if pattern_scheme != scheme:
            continue
        if pattern_rest == rest:
            return True
        if pattern_rest.startswith("*.") and rest.endswith(pattern_rest[1:]):
            return True
    return False
