"""Redis's memory policy in every data tier: refuse writes when full, never evict.

Redis holds security state: key states (revocation), login-failure counters, rate-limit windows and token
quotas. An evicting policy (``volatile-lru`` here before) drops exactly those keys under memory pressure, and
every one of them expires by itself anyway, so eviction would silently reopen a lockout or a quota. With
``noeviction`` a full Redis answers writes with an error, which the gateway turns into a 503 (fail closed)
instead of quietly forgetting. Revocation itself no longer depends on Redis keeping data (auth's Postgres is the
truth), but lockouts and quotas do.
"""

from __future__ import annotations

MAXMEMORY_POLICY = "noeviction"
