"""The one catalogue of errors a client can see.

Every refusal inside the gateway raises a subclass of :class:`GatehouseError`; the api
layer alone turns it into an HTTP response in OpenAI's error shape::

    GatehouseError                    status  type                    retry
    ├── InvalidRequest                400     invalid_request_error   no
    │   └── GuardrailBlocked          400     guardrail_blocked       no
    ├── AuthenticationFailed          401     authentication_error    no
    ├── PermissionDenied              403     permission_error        no
    ├── NotFound                      404     not_found_error         no
    ├── MethodNotAllowed              405     invalid_request_error   no
    ├── RequestTooLarge               413     request_too_large       no
    ├── RateLimited                   429     rate_limit_error        yes (Retry-After)
    │   └── BudgetExceeded            429     budget_exceeded         no
    ├── UpstreamError                 502     upstream_error          yes
    │   ├── UpstreamRejected          4xx     (the upstream's)        no
    │   ├── UpstreamTimeout           504     upstream_timeout        yes
    │   └── AllAttemptsFailed         the last failure's status and type; keeps every attempt
    ├── Overloaded                    503     overloaded_error        yes
    │   └── GuardrailUnavailable      503     guardrail_unavailable   yes
    └── InternalError                 500     internal_error          yes

`retryable` decides the ``x-should-retry`` header that the official SDKs honour.
Low-level exceptions are translated with ``raise X from exc`` so the cause is kept
for logs but never shown to the client.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson


class GatehouseError(Exception):
    """Base of every error a client can receive."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.route: str | None = None  # the attempts made, when the router made any
        #: Headers sent with the error, e.g. a limit's x-ratelimit-*; they win over the
        #: defaults (a limit that can never fit says x-should-retry: false).
        self.extra_headers: dict[str, str] | None = None

    @property
    def http_status(self) -> int:
        return self.status

    @property
    def error_type(self) -> str:
        return self.type

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    def headers(self) -> dict[str, str]:
        headers = {"x-should-retry": "true" if self.retryable else "false"}
        if self.retry_after is not None:
            headers["retry-after"] = str(max(0, round(self.retry_after)))
        if self.extra_headers:
            headers.update(self.extra_headers)
        return headers


class InvalidRequest(GatehouseError):
    status = 400
    type = "invalid_request_error"


class GuardrailBlocked(InvalidRequest):
    """A guardrail policy refused the call's input or output.

    The message names the policy, the scanner and the entity types, never the text
    that was found.
    """

    type = "guardrail_blocked"


class AuthenticationFailed(GatehouseError):
    status = 401
    type = "authentication_error"


class PermissionDenied(GatehouseError):
    status = 403
    type = "permission_error"


class NotFound(GatehouseError):
    status = 404
    type = "not_found_error"


class MethodNotAllowed(GatehouseError):
    status = 405
    type = "invalid_request_error"


class RequestTooLarge(GatehouseError):
    status = 413
    type = "request_too_large"


class RateLimited(GatehouseError):
    status = 429
    type = "rate_limit_error"
    retryable = True


class BudgetExceeded(RateLimited):
    """A key's, team's or user's spend would cross its budget for the period.

    A 429 so clients treat it as a limit, but not retryable: waiting seconds won't
    help, so ``x-should-retry: false`` stops the SDKs' automatic retries.
    """

    type = "budget_exceeded"
    retryable = False


class UpstreamError(GatehouseError):
    """The upstream failed in a way another attempt may not: 5xx, reset, bad body."""

    status = 502
    type = "upstream_error"
    retryable = True


class UpstreamTimeout(UpstreamError):
    status = 504
    type = "upstream_timeout"


class _TakesStatus:
    """For errors whose status and type are decided per instance, not per class."""

    _status: int
    _type: str

    @property
    def http_status(self) -> int:
        return self._status

    @property
    def error_type(self) -> str:
        return self._type


class UpstreamRejected(_TakesStatus, UpstreamError):
    """The upstream refused the request itself (a 4xx the client caused).

    Status and type are the upstream's own, so a client sees the same error it would
    have seen calling the provider directly.
    """

    retryable = False

    def __init__(self, message: str, *, status: int, error_type: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self._status = status
        self._type = error_type


class AllAttemptsFailed(_TakesStatus, UpstreamError):
    """Every attempt (retries and fallbacks) failed; ``failures`` keeps each one.

    The status and type are those a client can act on: 429 when every attempt was
    rate limited (with the shortest Retry-After), else the last failure's.
    """

    def __init__(self, failures: list[tuple[str, GatehouseError]]) -> None:
        last = failures[-1][1]
        limited = [e for _, e in failures if isinstance(e, RateLimited)]
        if len(limited) == len(failures):
            waits = [e.retry_after for e in limited if e.retry_after is not None]
            chosen: GatehouseError = limited[-1]
            retry_after = min(waits) if waits else None
        else:
            chosen, retry_after = last, last.retry_after
        detail = "; ".join(f"{where}: {err.code or err.error_type}" for where, err in failures)
        n = len(failures)
        super().__init__(
            f"all {n} attempt{'s' if n != 1 else ''} failed ({detail}); last: {last.message}",
            code=chosen.code,
            retry_after=retry_after,
        )
        self.failures = failures
        self._status = chosen.http_status
        self._type = chosen.error_type
        self._retryable = chosen.retryable

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        headers["x-should-retry"] = "true" if self._retryable else "false"
        return headers


class Overloaded(GatehouseError):
    status = 503
    type = "overloaded_error"
    retryable = True


class GuardrailUnavailable(Overloaded):
    """A scanner that must decide could not (its worker was late or gone), and the
    policy fails closed."""

    type = "guardrail_unavailable"


class InternalError(GatehouseError):
    status = 500
    type = "internal_error"
    retryable = True


CATALOGUE: tuple[type[GatehouseError], ...] = (
    InvalidRequest,
    GuardrailBlocked,
    AuthenticationFailed,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    RequestTooLarge,
    RateLimited,
    BudgetExceeded,
    UpstreamError,
    UpstreamTimeout,
    UpstreamRejected,
    AllAttemptsFailed,
    Overloaded,
    GuardrailUnavailable,
    InternalError,
)
