"""Product images (issue 17, ADR 0068) through catalog's API on SQLite: JPEG, PNG and
WebP made with Pillow here are taken by their content and stored as WebP thumbnails
(turned by their EXIF orientation, without metadata); a text file named .jpg, an
oversized file and a cashier are refused; the image is served under a URL that
changes with it, with an ETag and a year's cache; the products' JSON and the tills'
replica feed carry its URL, null once removed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from pos_catalog.config import Settings

from .test_catalog_api import A, Auth, auth, client, create  # noqa: F401 (fixtures)


def picture(fmt: str, size: tuple[int, int] = (640, 480), *, exif_orientation: int | None = None, mode: str = "RGB") -> bytes:
    """A picture whose left half is red and right half blue (so a turn shows)."""
    image = Image.new(mode, size, (255, 0, 0) if mode == "RGB" else (255, 0, 0, 255))
    image.paste((0, 0, 255) if mode == "RGB" else (0, 0, 255, 128), (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    params: dict[str, Any] = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation  # Orientation
        exif[0x010F] = "PhoneMaker"  # Make: must not survive
        params["exif"] = exif.tobytes()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def upload(client: TestClient, auth: Auth, product_id: str, data: bytes, name: str = "photo.jpg", role: str = "manager") -> Any:  # noqa: F811
    return client.put(
        f"/api/catalog/products/{product_id}/image",
        files={"file": (name, data, "image/jpeg")},
        headers=auth(role),
    )


def fetch(client: TestClient, url: str, **headers: str) -> Any:  # noqa: F811
    return client.get(url, headers=headers)  # no token: an <img> sends none


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_jpeg_png_or_webp_becomes_webp_thumbnails_on_the_product(client: TestClient, auth: Auth, fmt: str) -> None:  # noqa: F811
    product = create(client, auth, "IMG-1", "Espresso beans")
    assert product["image_url"] is None and product["thumbnail_url"] is None

    response = upload(client, auth, product["id"], picture(fmt), name="whatever.bin")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image_url"].endswith("/320.webp") and body["thumbnail_url"].endswith("/96.webp")
    assert client.get(f"/api/catalog/products/{product['id']}", headers=auth()).json()["image_url"] == body["image_url"]

    for url, longest in ((body["image_url"], 320), (body["thumbnail_url"], 96)):
        got = fetch(client, url)
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/webp"
        assert "max-age=31536000" in got.headers["cache-control"] and "immutable" in got.headers["cache-control"]
        image = Image.open(io.BytesIO(got.content))
        assert image.format == "WEBP"
        assert max(image.size) == longest and image.size == ((longest, longest * 3 // 4))


def test_a_png_with_transparency_keeps_it(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-A", "Sticker")
    body = upload(client, auth, product["id"], picture("PNG", (200, 200), mode="RGBA")).json()
    image = Image.open(io.BytesIO(fetch(client, body["thumbnail_url"]).content))
    assert image.mode == "RGBA"
    assert image.getpixel((90, 48))[3] < 200  # the blue half was half transparent


def test_the_exif_rotation_is_applied_and_the_metadata_removed(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-R", "Rotated")
    # Stored 640 x 480 with "rotate 90 clockwise to view" (orientation 6): seen upright it
    # is 480 x 640, red on top (the stored left half) and blue below.
    body = upload(client, auth, product["id"], picture("JPEG", exif_orientation=6)).json()
    image = Image.open(io.BytesIO(fetch(client, body["image_url"]).content))
    assert image.size == (240, 320)
    r, g, b = image.convert("RGB").getpixel((120, 40))
    assert r > 200 and b < 60, (r, g, b)
    r, g, b = image.convert("RGB").getpixel((120, 280))
    assert b > 200 and r < 60, (r, g, b)
    assert len(image.getexif()) == 0
    assert "exif" not in image.info and "icc_profile" not in image.info


def test_a_text_file_named_jpg_is_refused_and_nothing_stored(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-T", "Text")
    response = upload(client, auth, product["id"], b"name,price\nTea,100\n" * 50, name="photo.jpg")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "the file is not a JPEG, PNG or WebP image (it looks like text): choose a photo in one of those formats"
    )
    assert client.get(f"/api/catalog/products/{product['id']}", headers=auth()).json()["image_url"] is None


def test_a_gif_and_a_cut_short_jpeg_are_refused(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-G", "Gif")
    response = upload(client, auth, product["id"], picture("GIF"), name="anim.gif")
    assert response.status_code == 422 and "it is a GIF" in response.json()["detail"]
    cut = picture("JPEG")[:600]
    response = upload(client, auth, product["id"], cut)
    assert response.status_code == 422 and "damaged or cut short" in response.json()["detail"]
    response = upload(client, auth, product["id"], b"")
    assert response.status_code == 422 and "empty" in response.json()["detail"]


def test_an_oversized_file_is_refused_with_413(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-B", "Big")
    limit = Settings().image_max_bytes
    big = picture("PNG") + b"\0" * (limit + 1)
    response = upload(client, auth, product["id"], big)
    assert response.status_code == 413
    assert "larger than 5 MB" in response.json()["detail"]
    # The same as a raw body (no form).
    response = client.put(
        f"/api/catalog/products/{product['id']}/image", content=big, headers=auth() | {"Content-Type": "image/png"}
    )
    assert response.status_code == 413
    assert client.get(f"/api/catalog/products/{product['id']}", headers=auth()).json()["image_url"] is None


def test_a_raw_body_upload_works_too(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-RAW", "Raw")
    response = client.put(
        f"/api/catalog/products/{product['id']}/image",
        content=picture("PNG"),
        headers=auth() | {"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200 and response.json()["image_url"]


@pytest.mark.parametrize("role, allowed", [("cashier", False), ("manager", True), ("admin", True)])
def test_only_managers_and_admins_may_set_or_remove_an_image(client: TestClient, auth: Auth, role: str, allowed: bool) -> None:  # noqa: F811
    product = create(client, auth, "IMG-P", "Perm")
    response = upload(client, auth, product["id"], picture("JPEG"), role=role)
    assert response.status_code == (200 if allowed else 403)
    upload(client, auth, product["id"], picture("JPEG"))
    response = client.delete(f"/api/catalog/products/{product['id']}/image", headers=auth(role))
    assert response.status_code == (204 if allowed else 403)
    assert client.put(f"/api/catalog/products/{product['id']}/image", content=picture("JPEG")).status_code == 401


def test_replace_gives_a_new_url_and_the_old_one_is_gone_remove_gives_null(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-X", "Replace")
    first = upload(client, auth, product["id"], picture("JPEG")).json()
    again = upload(client, auth, product["id"], picture("JPEG")).json()
    assert again["image_url"] == first["image_url"]  # the same picture: the same URL
    second = upload(client, auth, product["id"], picture("PNG", (300, 300))).json()
    assert second["image_url"] != first["image_url"]
    assert fetch(client, first["image_url"]).status_code == 404
    assert fetch(client, second["image_url"]).status_code == 200

    etag = fetch(client, second["thumbnail_url"]).headers["etag"]
    revalidated = fetch(client, second["thumbnail_url"], **{"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.content == b""

    assert client.delete(f"/api/catalog/products/{product['id']}/image", headers=auth()).status_code == 204
    assert fetch(client, second["image_url"]).status_code == 404
    found = client.get("/api/catalog/products", params={"q": "Replace"}, headers=auth()).json()["items"][0]
    assert found["image_url"] is None and found["thumbnail_url"] is None
    assert client.delete(f"/api/catalog/products/{product['id']}/image", headers=auth()).status_code == 204
    assert client.delete("/api/catalog/products/nope/image", headers=auth()).status_code == 404
    assert upload(client, auth, "nope", picture("JPEG")).status_code == 404


def test_search_quick_keys_and_the_replica_feed_carry_the_thumbnail(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-F", "Flat white")
    other = create(client, auth, "IMG-N", "No picture")
    fill = client.get("/api/catalog/changes", params={"outlet_id": A}, headers=auth()).json()
    assert {p["id"]: p["thumbnail_url"] for p in fill["products"]} == {product["id"]: None, other["id"]: None}

    body = upload(client, auth, product["id"], picture("JPEG")).json()
    page = client.get("/api/catalog/changes", params={"outlet_id": A, "cursor": fill["next_cursor"]}, headers=auth()).json()
    assert [(p["id"], p["thumbnail_url"]) for p in page["products"]] == [(product["id"], body["thumbnail_url"])]

    hits = client.get("/api/catalog/search", params={"q": "flat"}, headers=auth()).json()["items"]
    assert hits[0]["thumbnail_url"] == body["thumbnail_url"]
    client.put(f"/api/catalog/outlets/{A}/quick-keys", json={"product_ids": [product["id"], other["id"]]}, headers=auth())
    tiles = client.get(f"/api/catalog/outlets/{A}/quick-keys", headers=auth()).json()
    assert [t["thumbnail_url"] for t in tiles] == [body["thumbnail_url"], None]

    client.delete(f"/api/catalog/products/{product['id']}/image", headers=auth())
    later = client.get("/api/catalog/changes", params={"outlet_id": A, "cursor": page["next_cursor"]}, headers=auth()).json()
    assert [(p["id"], p["thumbnail_url"]) for p in later["products"]] == [(product["id"], None)]


def test_an_unknown_size_or_key_is_a_404(client: TestClient, auth: Auth) -> None:  # noqa: F811
    product = create(client, auth, "IMG-S", "Sizes")
    body = upload(client, auth, product["id"], picture("JPEG")).json()
    assert fetch(client, body["image_url"].replace("/320.webp", "/1000.webp")).status_code == 404
    key = body["image_url"].split("/")[-2]
    assert fetch(client, body["image_url"].replace(key, "0" * 16)).status_code == 404
