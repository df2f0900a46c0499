"""The problem types of the domain API (RFC 9457 ``type`` URIs ``/problems/<slug>``) and what each means.

One catalog for every service, because the gateway documents all of them at ``GET /problems/{slug}`` while
the errors are raised deep in auth, sessions or chat. A ``ProblemError`` subclass (``app.core.errors``) names
its entry here; a test checks every subclass in ``app`` has one, with the same status.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        """The problem's ``type``: a URI reference resolved against the API's base URL."""
        return f"/problems/{self.slug}"


def _catalog(*types: ProblemType) -> dict[str, ProblemType]:
    return {problem.slug: problem for problem in types}


# --- generic HTTP problems (raised by the core for any service) -------------------------------------------------
BAD_REQUEST = ProblemType("bad-request", 400, "Bad request", "The request could not be understood.")
INVALID_JSON = ProblemType("invalid-json", 400, "Invalid JSON", "The body is not valid JSON; `detail` says where.")
VALIDATION_ERROR = ProblemType(
    "validation-error",
    422,
    "Validation error",
    "The request is well-formed JSON but breaks the schema; `errors` lists each field (`loc`, `msg`, `type`).",
)
UNAUTHORIZED = ProblemType(
    "unauthorized",
    401,
    "Unauthorized",
    "No credential, or one that is malformed, forged, expired, or revoked. Send a valid API key "
    "(`Authorization: Bearer hl_live_...`) or a current access token.",
)
INVALID_LOGIN = ProblemType(
    "invalid-login", 401, "Invalid login", "The tenant, email and password do not match an active user."
)
FORBIDDEN = ProblemType(
    "insufficient-scope",
    403,
    "Insufficient scope",
    "The credential is valid but lacks a scope this endpoint requires; `required_scopes` lists them.",
)
PRINCIPAL_NOT_ALLOWED = ProblemType(
    "credential-kind-not-allowed",
    403,
    "Credential kind not allowed",
    "This endpoint is for another kind of caller (e.g. the agent desk is for people, never API keys); "
    "`allowed_principals` lists the kinds it admits. See docs/roles.md.",
)
FIELDS_NOT_ALLOWED = ProblemType(
    "fields-not-allowed",
    400,
    "Fields not allowed",
    "The OpenAI-compatible endpoint forwards only an allowlist of request fields per key tier; `fields` names "
    "every refused one (media content parts, `$ref`, engine-specific extensions such as `ignore_eos`).",
)
NOT_FOUND = ProblemType(
    "not-found",
    404,
    "Not found",
    "No such resource for this tenant. Resources of other tenants are reported the same way, on purpose.",
)
METHOD_NOT_ALLOWED = ProblemType(
    "method-not-allowed", 405, "Method not allowed", "The path exists; the method does not."
)
NOT_ACCEPTABLE = ProblemType(
    "not-acceptable", 406, "Not acceptable", "The endpoint cannot answer in any media type the Accept header allows."
)
CONFLICT = ProblemType("conflict", 409, "Conflict", "The request conflicts with the resource's current state.")
PAYLOAD_TOO_LARGE = ProblemType(
    "payload-too-large", 413, "Payload too large", "The body exceeds the limit; `max_bytes` says what is allowed."
)
UNSUPPORTED_MEDIA_TYPE = ProblemType(
    "unsupported-media-type", 415, "Unsupported media type", "Send `Content-Type: application/json`."
)
INTERNAL_ERROR = ProblemType(
    "internal-error", 500, "Internal error", "Something failed on our side. Quote the `request_id` to support."
)
BAD_GATEWAY = ProblemType(
    "bad-gateway", 502, "Bad gateway", "A service behind the API answered with something it should not have."
)
DEPENDENCY_UNAVAILABLE = ProblemType(
    "dependency-unavailable",
    503,
    "Service unavailable",
    "A service or database behind the API cannot be reached right now. Retry with backoff.",
)
DEPENDENCY_TIMEOUT = ProblemType(
    "dependency-timeout", 504, "Gateway timeout", "A service behind the API did not answer in time. Retry with backoff."
)
NOT_READY = ProblemType(
    "not-ready", 503, "Not ready", "A dependency of this service is not answering; `checks` says which."
)

# --- auth and gateway -----------------------------------------------------------------------------------------
RATE_LIMITED = ProblemType(
    "rate-limited",
    429,
    "Rate limit exceeded",
    "Too many requests for this API key's tier in the current window. Wait `Retry-After` seconds; the "
    "`RateLimit-*` headers say the limit and when it resets.",
)
QUOTA_EXCEEDED = ProblemType(
    "quota-exceeded",
    429,
    "Token quota exceeded",
    "The tenant's daily token quota for this key tier is used up (all of a tenant's keys of one tier share it); "
    "it resets at 00:00 UTC (`Retry-After`). A streamed answer that reaches the quota's end stops with an `error` "
    "event of this type.",
)
ENGINE_BUSY = ProblemType(
    "engine-busy",
    429,
    "Assistant busy",
    "The assistant is at capacity: the request was not queued (or was shed from the queue) so that admitted "
    "requests keep their response time. Lower tiers are shed first. Retry after `Retry-After` seconds.",
)
KEY_LIMIT_REACHED = ProblemType(
    "key-limit-reached",
    409,
    "API key limit reached",
    "The tenant already has as many active API keys as its plan allows; revoke one first (`max_keys` says the cap).",
)
TOO_MANY_STREAMS = ProblemType(
    "too-many-streams",
    429,
    "Too many concurrent streams",
    "The API key already has as many streams open as its tier allows; retry when one ends.",
)
TENANT_EXISTS = ProblemType("tenant-exists", 409, "Tenant exists", "A tenant with this slug already exists.")
TIER_NOT_ALLOWED = ProblemType(
    "tier-not-allowed",
    403,
    "Tier not allowed",
    "The tenant's plan does not include this tier; `max_tier` says the highest it allows.",
)
EMAIL_TAKEN = ProblemType("email-taken", 409, "Email taken", "A user with this email already exists in the tenant.")

# --- conversations (sessions, chat) ---------------------------------------------------------------------------
CONVERSATION_CLOSED = ProblemType(
    "conversation-closed", 409, "Conversation closed", "The conversation is closed or resolved; start a new one."
)
CONVERSATION_STATE = ProblemType(
    "conversation-state-conflict",
    409,
    "Conversation state conflict",
    "The action is not possible in the conversation's current status (`conversation_status` says which).",
)
ALREADY_CLAIMED = ProblemType(
    "already-claimed", 409, "Already claimed", "Another agent has already claimed this conversation."
)
IDEMPOTENCY_KEY_REUSED = ProblemType(
    "idempotency-key-reused",
    409,
    "Idempotency key reused",
    "This Idempotency-Key was already used with a different request body.",
)
IDEMPOTENT_REQUEST_IN_PROGRESS = ProblemType(
    "idempotent-request-in-progress",
    409,
    "Request in progress",
    "A request with this Idempotency-Key is still being answered; retry after `Retry-After` seconds to get its result.",
)
FEEDBACK_NOT_ALLOWED = ProblemType(
    "feedback-not-allowed", 409, "Feedback not allowed", "Feedback can only be given on assistant messages."
)
MESSAGE_TOO_LONG = ProblemType(
    "message-too-long",
    422,
    "Message too long",
    "The message alone does not fit the model's context window; shorten it.",
)
CONTEXT_LENGTH_EXCEEDED = ProblemType(
    "context-length-exceeded",
    400,
    "Context length exceeded",
    "The prompt and the requested answer length exceed the model's context window.",
)
ENGINE_UNAVAILABLE = ProblemType(
    "engine-unavailable",
    503,
    "Engine unavailable",
    "The language model cannot be reached or is failing; the circuit is open. Retry with backoff.",
)
ENGINE_TIMEOUT = ProblemType("engine-timeout", 504, "Engine timeout", "The language model did not answer in time.")
ENGINE_ERROR = ProblemType("engine-error", 502, "Engine error", "The language model failed while answering.")

PROBLEM_TYPES: dict[str, ProblemType] = _catalog(
    BAD_REQUEST,
    INVALID_JSON,
    VALIDATION_ERROR,
    UNAUTHORIZED,
    INVALID_LOGIN,
    FORBIDDEN,
    PRINCIPAL_NOT_ALLOWED,
    FIELDS_NOT_ALLOWED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    NOT_ACCEPTABLE,
    CONFLICT,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    INTERNAL_ERROR,
    BAD_GATEWAY,
    DEPENDENCY_UNAVAILABLE,
    DEPENDENCY_TIMEOUT,
    NOT_READY,
    RATE_LIMITED,
    QUOTA_EXCEEDED,
    ENGINE_BUSY,
    KEY_LIMIT_REACHED,
    TOO_MANY_STREAMS,
    TENANT_EXISTS,
    TIER_NOT_ALLOWED,
    EMAIL_TAKEN,
    CONVERSATION_CLOSED,
    CONVERSATION_STATE,
    ALREADY_CLAIMED,
    IDEMPOTENCY_KEY_REUSED,
    IDEMPOTENT_REQUEST_IN_PROGRESS,
    FEEDBACK_NOT_ALLOWED,
    MESSAGE_TOO_LONG,
    CONTEXT_LENGTH_EXCEEDED,
    ENGINE_UNAVAILABLE,
    ENGINE_TIMEOUT,
    ENGINE_ERROR,
)

#: The generic problem for each HTTP status the framework raises by itself (routing, body limits).
PROBLEM_BY_STATUS: dict[int, ProblemType] = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    406: NOT_ACCEPTABLE,
    409: CONFLICT,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: VALIDATION_ERROR,
    429: RATE_LIMITED,
    500: INTERNAL_ERROR,
    502: BAD_GATEWAY,
    503: DEPENDENCY_UNAVAILABLE,
    504: DEPENDENCY_TIMEOUT,
}
