"""Virtual API keys: the secret's format, its hash, and the key as the gateway sees it.

A key's secret is ``gh-`` and 43 URL-safe characters (32 random bytes). Only its
SHA-256 is stored: the secret is a long random token, so a fast hash is as safe as a
slow one and costs a request microseconds, not tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from gatehouse.config.access import BudgetConfig, KeyLimits

SECRET_PREFIX = "gh-"
#: Characters of the secret shown in listings (``gh-`` and the first eight).
DISPLAY_CHARS = 11
#: The shortest secret accepted from outside (an imported key): 40 random URL-safe
#: characters carry ~240 bits.
MIN_SECRET_CHARS = 43


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_CHARS]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as the request path sees it (an immutable snapshot of its row)."""

    id: str
    name: str
    prefix: str  # the first characters of the secret, for humans
    hash: bytes  # SHA-256 of the secret
    roles: frozenset[str] = frozenset({"app"})
    owner: str | None = None  # the user who owns it
    team: str | None = None
    models: tuple[str, ...] = ()  # allowed public models (names or fnmatch patterns); () = all
    expires_at: float | None = None  # epoch seconds
    revoked_at: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    limits: KeyLimits = field(default_factory=KeyLimits)  # type: ignore[arg-type]
    budget: BudgetConfig | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def view(self) -> dict[str, Any]:
        """Everything about the key but its hash, as JSON-ready data."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "roles": sorted(self.roles),
            "owner": self.owner,
            "team": self.team,
            "models": list(self.models),
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "metadata": dict(self.metadata),
            "limits": self.limits.model_dump(exclude_defaults=True),
            "budget": self.budget.model_dump() if self.budget is not None else None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
