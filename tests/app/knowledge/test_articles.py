"""Articles through the admin API on both backends: versions, publishing, deletion, listing, search, import."""

from __future__ import annotations

import io
import zipfile
from uuid import UUID

from tests.app.knowledge.conftest import Callers

REFUNDS = """# Refunds

## How long a refund takes

Refunds reach your card within 5 business days of our warehouse receiving the parcel.

## Refunds for damaged items

If the item arrived damaged, send a photo and we refund the full price including shipping.
"""


async def test_a_published_article_is_split_into_passages_with_heading_paths(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    article = await admin.article(title="Refunds", body=REFUNDS, status="published", url="https://help.example/refunds")
    assert article["version"] == 1
    assert article["passages"] == 2
    found = await callers.customer(tenant).retrieve("how many days until my refund arrives")
    top = found["passages"][0]
    assert top["heading_path"] == ["Refunds", "How long a refund takes"]
    assert "5 business days" in top["text"]
    assert top["url"] == "https://help.example/refunds"
    assert top["article_id"] == article["id"]


async def test_a_draft_is_never_retrieved_until_published(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    article = await admin.article(title="Refunds", body=REFUNDS)
    assert article["status"] == "draft"
    assert article["passages"] == 0
    assert (await callers.customer(tenant).retrieve("refund damaged item"))["passages"] == []
    published = (await admin.post(f"/articles/{article['id']}/publish")).json()
    assert published["version"] == 2
    assert published["passages"] == 2
    assert (await callers.customer(tenant).retrieve("refund damaged item"))["passages"]
    unpublished = (await admin.post(f"/articles/{article['id']}/unpublish")).json()
    assert unpublished["passages"] == 0
    assert (await callers.customer(tenant).retrieve("refund damaged item"))["passages"] == []


async def test_an_edit_adds_a_version_and_reindexes_only_that_article(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    refunds = await admin.article(title="Refunds", body=REFUNDS, status="published")
    other = await admin.article(title="Shipping", body="# Shipping\n\nWe ship to 30 countries.", status="published")
    edited = REFUNDS.replace("5 business days", "10 business days")
    response = await admin.put(f"/articles/{refunds['id']}", {"title": "Refunds", "body": edited})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    found = await callers.customer(tenant).retrieve("how many days until my refund arrives")
    assert "10 business days" in found["passages"][0]["text"]
    versions = (await admin.get(f"/articles/{refunds['id']}/versions")).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert (await admin.get(f"/articles/{other['id']}")).json()["version"] == 1
    same = await admin.put(f"/articles/{refunds['id']}", {"title": "Refunds", "body": edited})
    assert same.json()["version"] == 2  # no change, no new version


async def test_deleting_an_article_removes_its_passages_at_once(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    article = await admin.article(title="Refunds", body=REFUNDS, status="published")
    assert (await admin.delete(f"/articles/{article['id']}")).status_code == 204
    assert (await callers.customer(tenant).retrieve("refund damaged item"))["passages"] == []
    assert (await admin.get(f"/articles/{article['id']}")).status_code == 404


async def test_listing_pages_and_searches(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    for index in range(3):
        await admin.article(title=f"Article {index}", body=f"Body number {index}")
    first = (await admin.get("/articles", params={"limit": 2})).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = (await admin.get("/articles", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    found = (await admin.get("/articles", params={"q": "number 1"})).json()
    assert [item["title"] for item in found["items"]] == ["Article 1"]


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


async def test_import_is_idempotent_by_path(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    files = {
        "returns/refunds.md": "---\ntitle: Refunds\nurl: https://help.example/refunds\ntags: [returns]\n---\n"
        + REFUNDS,
        "shipping.html": "<html><head><title>Shipping</title></head><body><h2>Countries</h2><p>We ship to 30.</p></body></html>",
        "notes.txt": "ignored: not Markdown or HTML",
    }
    headers = {**admin.headers, "Content-Type": "application/zip"}
    first = await admin.http.post("/internal/v1/knowledge/imports", content=_zip(files), headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["updated"], first.json()["unchanged"]) == (2, 0, 0)
    again = await admin.http.post("/internal/v1/knowledge/imports", content=_zip(files), headers=headers)
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 2)
    files["shipping.html"] = files["shipping.html"].replace("30", "40")
    changed = await admin.http.post("/internal/v1/knowledge/imports", content=_zip(files), headers=headers)
    assert (changed.json()["created"], changed.json()["updated"], changed.json()["unchanged"]) == (0, 1, 1)
    listed = (await admin.get("/articles")).json()["items"]
    assert sorted(item["title"] for item in listed) == ["Refunds", "Shipping"]
    shipping = next(item for item in listed if item["title"] == "Shipping")
    assert shipping["version"] == 2
    assert shipping["status"] == "published"


async def test_a_bad_file_in_an_import_changes_nothing_and_is_named(callers: Callers, tenant: UUID) -> None:
    admin = callers.admin(tenant)
    files = {"good.md": REFUNDS, "bad.md": "---\nlanguage: klingon\n---\n# Bad\n\ntext"}
    headers = {**admin.headers, "Content-Type": "application/zip"}
    response = await admin.http.post("/internal/v1/knowledge/imports", content=_zip(files), headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "bad.md" in response.json()["detail"]
    assert response.json()["request_id"]
    assert (await admin.get("/articles")).json()["items"] == []
