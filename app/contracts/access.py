"""Who may call what: one access rule per kind of endpoint, shared by the gateway and the services behind it.

A rule names the credential kinds (principals) it admits and the scopes the credential must carry. Scopes alone
were not enough: a tenant API key created with the ``agent`` scope could claim and answer conversations, recorded
as the key's id. The agent desk now admits only people (``user`` principals, whose role gives the scope).

``docs/roles.md`` is generated from these rules and the gateway's routes (``make roles-doc``); a test checks it
is current and walks every route with every caller kind below.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.contracts.api import DEFAULT_KEY_SCOPES, Role, Scope
from app.contracts.internal import IdentityClaims, PrincipalKind

API_KEY: PrincipalKind = "api_key"
USER: PrincipalKind = "user"
END_USER: PrincipalKind = "end_user"


@dataclass(frozen=True)
class Access:
    """An endpoint's rule: a credential of one of ``principals`` carrying every scope in ``scopes``."""

    name: str
    principals: frozenset[PrincipalKind]
    scopes: tuple[Scope, ...]
    description: str

    def allows(self, identity: IdentityClaims) -> bool:
        return identity.principal in self.principals and all(scope in identity.scopes for scope in self.scopes)


CUSTOMER_READ = Access(
    "customer-read",
    frozenset({API_KEY, END_USER, USER}),
    (Scope.CONVERSATIONS_READ,),
    "read conversations: the tenant's keys, its web-chat end users (their own only), agents and admins",
)
CUSTOMER_WRITE = Access(
    "customer-write",
    frozenset({API_KEY, END_USER, USER}),
    (Scope.CONVERSATIONS_WRITE,),
    "start conversations and post customer messages: keys and end users (admin users carry the scope too)",
)
AGENT_DESK = Access(
    "agent-desk",
    frozenset({USER}),
    (Scope.AGENT,),
    "the agent desk: a person logged in with the agent or admin role; never an API key",
)
ADMIN = Access(
    "admin",
    frozenset({USER, API_KEY}),
    (Scope.ADMIN,),
    "tenant administration: an admin user, or an API key created with the admin scope (automation)",
)
WIDGET_ISSUE = Access(
    "widget-issue",
    frozenset({API_KEY}),
    (Scope.WIDGET_ISSUE,),
    "mint web-chat tokens: an API key (the tokens' requests are charged to it)",
)
COMPLETIONS = Access(
    "completions",
    frozenset({API_KEY}),
    (Scope.COMPLETIONS,),
    "the OpenAI-compatible pass-through: an API key with the completions scope (metered per key)",
)
RULES: tuple[Access, ...] = (CUSTOMER_READ, CUSTOMER_WRITE, AGENT_DESK, ADMIN, WIDGET_ISSUE, COMPLETIONS)


class CallerKind(StrEnum):
    """The kinds of caller the roles table has a column for (each a real credential the tests obtain)."""

    ANONYMOUS = "anonymous"
    END_USER = "end user (widget token)"
    API_KEY = "API key (default scopes)"
    ADMIN_KEY = "API key (admin scope)"
    AGENT = "agent (user)"
    ADMIN = "admin (user)"


#: The scopes each kind's credential carries (users' come from their role; keys' from their creation).
ROLE_SCOPES: dict[Role, tuple[Scope, ...]] = {
    Role.CUSTOMER: (Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE),
    Role.AGENT: (Scope.AGENT, Scope.CONVERSATIONS_READ),
    Role.ADMIN: tuple(Scope),
}
#: Every scope an API key may be given: all but ``agent``, which belongs to people.
API_KEY_SCOPES: tuple[Scope, ...] = tuple(scope for scope in Scope if scope is not Scope.AGENT)

CALLER_KINDS: dict[CallerKind, tuple[PrincipalKind, tuple[Scope, ...]] | None] = {
    CallerKind.ANONYMOUS: None,
    CallerKind.END_USER: (END_USER, ROLE_SCOPES[Role.CUSTOMER]),
    CallerKind.API_KEY: (API_KEY, DEFAULT_KEY_SCOPES),
    CallerKind.ADMIN_KEY: (API_KEY, API_KEY_SCOPES),
    CallerKind.AGENT: (USER, ROLE_SCOPES[Role.AGENT]),
    CallerKind.ADMIN: (USER, ROLE_SCOPES[Role.ADMIN]),
}


def kind_allowed(access: Access | None, kind: CallerKind) -> bool:
    """Whether a caller of ``kind`` passes ``access`` (None: a public endpoint, open to everyone)."""
    if access is None:
        return True
    credential = CALLER_KINDS[kind]
    if credential is None:
        return False
    principal, scopes = credential
    return principal in access.principals and all(scope in scopes for scope in access.scopes)
