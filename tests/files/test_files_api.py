"""/api/files: uploads of each kind, limits, type sniffing, names, downloads, deleting; each
user sees only their own files, and nothing is stored in the clear."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from confide.files.models import StoredFile
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.files.helpers import FILES, GIF, JPEG, PNG, WEBP, tiny_pdf, upload, uploaded
from tests.privacy.helpers import delete_me

NOTES = b"first line\nsecond line\nthird line\n"


def blobs_of(app: FastAPI) -> list[Path]:
    root: Path = app.state.settings.data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_upload_each_kind(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    text = await uploaded(client, headers, "notes.txt", NOTES, "text/plain")
    assert text["kind"] == "text"
    assert text["content_type"] == "text/plain"
    assert text["size"] == len(NOTES)
    assert text["sha256"] == hashlib.sha256(NOTES).hexdigest()
    assert (text["lines"], text["text_chars"], text["pages"]) == (3, len(NOTES), None)

    markdown = await uploaded(client, headers, "README.md", b"# Title\n\nSome *text*.")
    assert (markdown["kind"], markdown["content_type"], markdown["lines"]) == (
        "text",
        "text/markdown",
        3,
    )
    code = await uploaded(client, headers, "main.py", b"print('hi')\r\nprint('there')\r\n")
    assert (code["kind"], code["content_type"], code["lines"]) == ("text", "text/plain", 2)

    pdf = await uploaded(client, headers, "report.pdf", tiny_pdf(["Quarterly", "Up 4%"], ["End"]))
    assert (pdf["kind"], pdf["content_type"], pdf["pages"], pdf["lines"]) == (
        "pdf",
        "application/pdf",
        2,
        3,
    )
    images = {}
    for name, data, content_type in (
        ("a.png", PNG, "image/png"),
        ("b.jpg", JPEG, "image/jpeg"),
        ("c.gif", GIF, "image/gif"),
        ("d.webp", WEBP, "image/webp"),
    ):
        image = await uploaded(client, headers, name, data, "application/octet-stream")
        assert (image["kind"], image["content_type"]) == ("image", content_type)
        assert image["text_chars"] is None
        images[name] = image

    listed = await client.get(FILES, headers=headers)
    assert listed.status_code == 200
    names = [item["name"] for item in listed.json()["items"]]
    assert names == ["d.webp", "c.gif", "b.jpg", "a.png", "report.pdf", "main.py", "README.md",
                     "notes.txt"]  # fmt: skip
    first = await client.get(FILES, params={"limit": 3}, headers=headers)
    rest = await client.get(
        FILES, params={"limit": 10, "cursor": first.json()["next_cursor"]}, headers=headers
    )
    assert [i["name"] for i in first.json()["items"] + rest.json()["items"]] == names
    assert rest.json()["next_cursor"] is None

    one = await client.get(f"{FILES}/{pdf['id']}", headers=headers)
    assert one.status_code == 200
    assert one.json() == pdf


async def test_download_headers(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    expected = {
        "notes.txt": (NOTES, "text/plain; charset=utf-8"),
        "photo.png": (PNG, "image/png"),
        "report.pdf": (tiny_pdf(["x"]), "application/octet-stream"),
    }
    for name, (data, served_as) in expected.items():
        file = await uploaded(client, headers, name, data)
        response = await client.get(f"{FILES}/{file['id']}/content", headers=headers)
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"] == served_as
        assert response.headers["content-disposition"] == (
            f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("sandbox")
        assert response.headers["cache-control"] == "no-store"

    unicode = await uploaded(client, headers, "résumé final.txt", b"hello")
    response = await client.get(f"{FILES}/{unicode['id']}/content", headers=headers)
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"r_sum_ final.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.txt"
    )


@pytest.mark.parametrize(
    ("name", "data", "claimed", "kind", "stored_as", "served_as"),
    [
        # HTML named and sent as an image: text, served as plain text.
        ("cat.png", b"<html><script>alert(1)</script></html>", "image/png", "text",
         "text/plain", "text/plain; charset=utf-8"),
        # An SVG with a script: text, never image/svg+xml.
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "image/svg+xml", "text", "text/plain", "text/plain; charset=utf-8"),
        # A PDF claiming to be plain text: a PDF, downloaded as bytes.
        ("notes.txt", tiny_pdf(["hidden"]), "text/plain", "pdf", "application/pdf",
         "application/octet-stream"),
        # A GIF that is also HTML (a polyglot): an image in a sandbox, never a page.
        ("poly.html", b"GIF89a/*<html><script>alert(1)</script></html>*/", "text/html", "image",
         "image/gif", "image/gif"),
    ],
)  # fmt: skip
async def test_content_type_tricks_are_neutralised(
    client: httpx.AsyncClient,
    name: str,
    data: bytes,
    claimed: str,
    kind: str,
    stored_as: str,
    served_as: str,
) -> None:
    _, headers = await signed_up(client)
    file = await uploaded(client, headers, name, data, claimed)
    assert (file["kind"], file["content_type"]) == (kind, stored_as)
    response = await client.get(f"{FILES}/{file['id']}/content", headers=headers)
    assert response.headers["content-type"] == served_as
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "data",
    [
        b"\x7fELF\x02\x01\x01" + b"\x00" * 40,  # an executable
        b"PK\x03\x04" + b"\x00" * 30,  # a zip
        b"text with a \x00 NUL",  # not text
        b"\xff\xfe not UTF-8 \xc3\x28",  # not UTF-8
    ],
)
async def test_other_bytes_are_refused(client: httpx.AsyncClient, data: bytes) -> None:
    _, headers = await signed_up(client)
    response = await upload(client, headers, "file.txt", data, "text/plain")
    assert_problem(response, 415, "unsupported_file_type")
    assert (await client.get(FILES, headers=headers)).json()["items"] == []


async def test_a_damaged_pdf_is_refused(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await upload(client, headers, "broken.pdf", b"%PDF-1.4\nnot really a pdf")
    assert_problem(response, 422, "unreadable_pdf")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\x.txt", "x.txt"),
        ("/etc/shadow", "shadow"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        ("..", "file"),
        ("a" * 300 + ".txt", "a" * 196 + ".txt"),
    ],
)
async def test_names_never_become_paths(
    app: FastAPI, client: httpx.AsyncClient, raw: str, shown: str
) -> None:
    user, headers = await signed_up(client)
    file = await uploaded(client, headers, raw, b"some text")
    assert file["name"] == shown
    (blob,) = blobs_of(app)
    root = app.state.settings.data_dir / "files"
    assert blob.parent == root / uuid.UUID(user["id"]).hex
    assert blob.name != shown
    assert all(c in "0123456789abcdef" for c in blob.name)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"line\nbreak\x07.txt", "linebreak.txt"),
        (b"evil\x00.txt", "evil.txt"),
        (b"../\x00../etc/passwd", "passwd"),
    ],
)
async def test_control_characters_are_dropped(
    client: httpx.AsyncClient, raw: bytes, shown: str
) -> None:
    # Written by hand: an HTTP client would escape them.
    _, headers = await signed_up(client)
    boundary = "confide-test-boundary"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + raw
        + b'"\r\nContent-Type: text/plain\r\n\r\nsome text\r\n'
        + f"--{boundary}--\r\n".encode()
    )
    response = await client.post(
        FILES,
        content=body,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == shown


async def test_size_limit(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(file_max_bytes=2048)
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        assert (await upload(client, headers, "max.txt", b"a" * 2048)).status_code == 201
        assert_problem(
            await upload(client, headers, "over.txt", b"a" * 2049), 413, "file_too_large"
        )
        # Far over: refused before the body is read.
        assert_problem(
            await upload(client, headers, "huge.txt", b"a" * 200_000), 413, "payload_too_large"
        )
        assert len((await client.get(FILES, headers=headers)).json()["items"]) == 1


async def test_allowed_types(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(file_types="text,application/pdf")
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        assert_problem(await upload(client, headers, "a.png", PNG), 415, "unsupported_file_type")
        assert (await upload(client, headers, "a.pdf", tiny_pdf(["x"]))).status_code == 201
        assert (await upload(client, headers, "a.txt", b"x")).status_code == 201
        usage = (await client.get(f"{FILES}/usage", headers=headers)).json()
        assert usage["types"] == ["text", "application/pdf"]


async def test_quota(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(file_quota_bytes=3000)
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        first = await uploaded(client, headers, "one.txt", b"1" * 2000)
        refused = await upload(client, headers, "two.txt", b"2" * 2000)
        assert_problem(refused, 507, "storage_quota_exceeded")
        # The same content again takes no more space.
        again = await uploaded(client, headers, "one-again.txt", b"1" * 2000)
        assert again["id"] != first["id"]
        usage = (await client.get(f"{FILES}/usage", headers=headers)).json()
        assert (usage["used_bytes"], usage["quota_bytes"]) == (2000, 3000)
        assert len(blobs_of(app)) == 1

        assert (await client.delete(f"{FILES}/{first['id']}", headers=headers)).status_code == 204
        # A copy still holds the content: it stays, and counts.
        assert len(blobs_of(app)) == 1
        assert_problem(await upload(client, headers, "two.txt", b"2" * 2000), 507,
                       "storage_quota_exceeded")  # fmt: skip
        assert (await client.delete(f"{FILES}/{again['id']}", headers=headers)).status_code == 204
        assert blobs_of(app) == []
        assert (await upload(client, headers, "two.txt", b"2" * 2000)).status_code == 201


async def test_another_users_file_is_not_found(client: httpx.AsyncClient) -> None:
    _, owner = await signed_up(client)
    _, stranger = await signed_up(client)
    file = await uploaded(client, owner, "secret.txt", b"mine alone")
    for method, path in (
        ("GET", f"{FILES}/{file['id']}"),
        ("GET", f"{FILES}/{file['id']}/content"),
        ("DELETE", f"{FILES}/{file['id']}"),
        ("GET", f"{FILES}/{uuid.uuid4()}"),
        ("GET", f"{FILES}/{uuid.uuid4()}/content"),
        ("DELETE", f"{FILES}/{uuid.uuid4()}"),
    ):
        response = await client.request(method, path, headers=stranger)
        assert_problem(response, 404, "file_not_found")
    assert (await client.get(FILES, headers=stranger)).json()["items"] == []
    assert (await client.get(f"{FILES}/usage", headers=stranger)).json()["used_bytes"] == 0
    # Still there for its owner.
    assert (await client.get(f"{FILES}/{file['id']}/content", headers=owner)).content == (
        b"mine alone"
    )


async def test_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    file = await uploaded(client, headers, "gone.txt", b"soon gone")
    assert len(blobs_of(app)) == 1
    assert (await client.delete(f"{FILES}/{file['id']}", headers=headers)).status_code == 204
    assert blobs_of(app) == []
    assert_problem(await client.get(f"{FILES}/{file['id']}", headers=headers), 404,
                   "file_not_found")  # fmt: skip
    assert_problem(await client.get(f"{FILES}/{file['id']}/content", headers=headers), 404,
                   "file_not_found")  # fmt: skip
    assert_problem(await client.delete(f"{FILES}/{file['id']}", headers=headers), 404,
                   "file_not_found")  # fmt: skip
    assert (await client.get(FILES, headers=headers)).json()["items"] == []


async def test_stored_sealed(app: FastAPI, client: httpx.AsyncClient) -> None:
    secret = b"The launch code is swordfish.\n"
    _, alice = await signed_up(client)
    _, bob = await signed_up(client)
    mine = await uploaded(client, alice, "plans-swordfish.txt", secret)
    await uploaded(client, bob, "plans-swordfish.txt", secret)
    blobs = blobs_of(app)
    assert len(blobs) == 2  # each owner's copy under their own key and address
    assert blobs[0].name != blobs[1].name
    for blob in blobs:
        assert b"swordfish" not in blob.read_bytes()
        assert blob.stat().st_mode & 0o077 == 0
    digest = hashlib.sha256(secret).hexdigest()
    async with app.state.database.connect() as conn:
        row = (
            await conn.execute(select(StoredFile).where(StoredFile.id == uuid.UUID(mine["id"])))
        ).one()
    stored = b"".join(bytes(v) for v in (row.name, row.text, row.sha256))
    assert b"swordfish" not in stored
    assert digest.encode() not in stored
    assert digest not in row.blob_key


async def test_upload_needs_a_file(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.post(FILES, data={"other": "x"}, headers=headers)
    assert_problem(response, 422, "validation_error")


async def test_deleting_the_account_removes_its_blobs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    leaving, leaving_headers = await signed_up(client)
    _, staying = await signed_up(client)
    await uploaded(client, leaving_headers, "mine.txt", b"leaving soon")
    kept = await uploaded(client, staying, "theirs.txt", b"staying")
    assert len(blobs_of(app)) == 2
    response = await delete_me(client, leaving_headers, leaving["email"])
    assert response.status_code == 204, response.text
    root = app.state.settings.data_dir / "files"
    assert not (root / uuid.UUID(leaving["id"]).hex).exists()
    assert len(blobs_of(app)) == 1
    assert (await client.get(f"{FILES}/{kept['id']}/content", headers=staying)).content == (
        b"staying"
    )
