"""Who is calling and what they may do: bearer keys, roles and model allow-lists.

A call's key is found in the in-memory :class:`KeySnapshot` by the SHA-256 of its
secret: no database round-trip on the request path. ``GATEHOUSE_ADMIN_KEY`` is the
bootstrap credential, an ``admin`` key that lives only in the environment.

Roles, from most to least powerful::

    admin     everything
    operator  deployments, config, the request log (bodies included)
    viewer    status, deployments and stats; no request log, no bodies
    app       /v1/* only

A message never quotes a presented secret: refusals are recorded in the request log.
"""

from __future__ import annotations

import fnmatch
import hmac
from collections.abc import Mapping
from typing import Literal

from gatehouse.errors import AuthenticationFailed, NotFound, PermissionDenied
from gatehouse.guard.keys import ApiKey, display_prefix, hash_secret
from gatehouse.guard.snapshot import KeySnapshot
from gatehouse.telemetry.registry import Counter

ADMIN_KEY_ENV = "GATEHOUSE_ADMIN_KEY"
ADMIN_KEY_ID = "admin"

#: What an endpoint needs -> the roles that grant it.
Need = Literal["admin", "operator", "viewer", "app"]
GRANTED_BY: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin"}),
    "operator": frozenset({"admin", "operator"}),
    "viewer": frozenset({"admin", "operator", "viewer"}),
    "app": frozenset({"admin", "app"}),
}


class Access:
    """Authenticates a request's headers against the key snapshot and the admin key.

    Every refusal is counted in ``failures`` (gatehouse_auth_failures_total) by its code.
    """

    def __init__(
        self,
        snapshot: KeySnapshot,
        admin_secret: str | None,
        required: bool,
        failures: Counter | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.required = required
        self.failures = failures
        self.admin_key = (
            ApiKey(
                id=ADMIN_KEY_ID,
                name=ADMIN_KEY_ENV,
                prefix=display_prefix(admin_secret),
                hash=hash_secret(admin_secret),
                roles=frozenset({"admin"}),
            )
            if admin_secret
            else None
        )

    def authenticate(self, headers: Mapping[str, str], need: Need) -> ApiKey | None:
        """The caller's key, checked for ``need``; None only for /v1 with auth off."""
        try:
            return self._authenticate(headers, need)
        except (AuthenticationFailed, PermissionDenied) as err:
            if self.failures is not None:
                self.failures.labels(err.code or "denied").value += 1
            raise

    def _authenticate(self, headers: Mapping[str, str], need: Need) -> ApiKey | None:
        secret = bearer_secret(headers)
        if secret is None:
            if need == "app" and not self.required:
                return None
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
                "or 'x-api-key: <key>' (keys are created with `gatehouse keys create`).",
                code="missing_api_key",
            )
        key = self.find(secret)
        if key is None:
            raise AuthenticationFailed(
                "Incorrect API key provided: it is unknown, revoked or expired. "
                "`gatehouse keys list` shows the keys of this gateway.",
                code="invalid_api_key",
            )
        if not key.roles & GRANTED_BY[need]:
            raise PermissionDenied(
                f"key {key.name!r} (roles: {', '.join(sorted(key.roles)) or 'none'}) may not "
                f"use this endpoint: it needs one of {', '.join(sorted(GRANTED_BY[need]))}",
                code="insufficient_role",
            )
        return key

    def find(self, secret: str) -> ApiKey | None:
        if self.admin_key is not None and hmac.compare_digest(
            hash_secret(secret), self.admin_key.hash
        ):
            return self.admin_key
        return self.snapshot.lookup(secret)


def bearer_secret(headers: Mapping[str, str]) -> str | None:
    """The secret of ``Authorization: Bearer …`` or, as Anthropic's SDK sends it,
    ``x-api-key``; None when neither is present."""
    value = headers.get("Authorization")
    if value:
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            return token
        return "" if scheme else None  # a malformed header is a wrong key, not a missing one
    value = headers.get("x-api-key")
    return value.strip() if value else None


def may_use(key: ApiKey | None, model: str) -> bool:
    """Whether the key's model allow-list admits ``model`` (no list: every model)."""
    if key is None or not key.models:
        return True
    return any(p == model or fnmatch.fnmatchcase(model, p) for p in key.models)


def check_model(key: ApiKey | None, model: str) -> None:
    """404 for a model the key may not use, worded as for a model that doesn't exist
    (as OpenAI does): a key learns nothing about the models outside its list."""
    if not may_use(key, model):
        raise NotFound(
            f"The model '{model}' does not exist or this key may not use it "
            "(GET /v1/models lists the models it may use)",
            param="model",
            code="model_not_found",
        )


def sees_team(key: ApiKey) -> str | None:
    """The team a key's reads are confined to: its own, unless it is an admin key."""
    if "admin" in key.roles:
        return None
    return key.team
