"""The public status page: a static page the edge serves even when every service behind it is down.

Chat links it from the "everything down" answer (``HELPLINE_STATUS_PAGE_URL``).
"""

from __future__ import annotations

#: Where the status page lives on the stack's public host.
STATUS_PATH = "/status/"


def status_page_url(chat_host: str) -> str:
    return f"https://{chat_host}{STATUS_PATH}"
