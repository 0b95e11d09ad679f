"""Product images (issue 17: "product images: upload, resized thumbnails, shown on tiles
and search results"): a manager picks a photo on the product's edit form, sees it, and
uploads it; the cashier's till shows the picture on the product's quick-key tile and
search result, keeps showing it offline, and a picture that cannot load leaves the tile
without one (never a broken-image icon)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.helpers import expect_text
from tests.browser.test_office import office_page
from tests.browser.test_refund import build_till_shop

pytestmark = pytest.mark.browser

LOADED = "img => img.complete && img.naturalWidth > 0"


def photo() -> bytes:
    """A 1200 x 900 JPEG made here (green left, orange right)."""
    from PIL import Image

    image = Image.new("RGB", (1200, 900), (20, 140, 60))
    image.paste((240, 140, 20), (600, 0, 1200, 900))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def test_a_manager_uploads_a_picture_and_the_till_shows_it_on_tiles(open_tab: Callable[..., Tab], server: Server) -> None:
    from playwright.sync_api import expect

    shop = build_till_shop(server, registers=("Front till",))
    with server.client(server.token(*shop.manager)) as manager:
        tiles = manager.put(
            f"/api/catalog/outlets/{shop.outlet_id}/quick-keys", json={"product_ids": [shop.coffee.id, shop.tea.id]}
        )
        assert tiles.status_code == 200, tiles.text

    # The manager: Products -> Edit -> choose a file (a preview) -> Upload.
    office = office_page(open_tab(1280, 800), server, shop.manager, "Products")
    office.get_by_label("Search").fill(shop.coffee.sku)
    office.locator(f'tr[data-sku="{shop.coffee.sku}"]').get_by_role("button", name=f"Edit {shop.coffee.name}").click()
    picture = office.get_by_test_id("product-image")
    expect_text(picture, r"No picture")
    # A text file named .jpg first: refused with a sentence, nothing stored.
    picture.get_by_label("Add a picture").set_input_files(
        {"name": "menu.jpg", "mimeType": "image/jpeg", "buffer": b"Flat white 3.40\n" * 20}
    )
    picture.get_by_role("button", name="Upload picture").click()
    expect_text(picture.get_by_test_id("image-error"), r"not a JPEG, PNG or WebP image \(it looks like text\)")
    picture.get_by_label("Add a picture").set_input_files({"name": "flat-white.jpg", "mimeType": "image/jpeg", "buffer": photo()})
    preview = picture.get_by_test_id("image-preview")
    expect(preview).to_be_visible()
    preview.wait_for()
    office.wait_for_function(f"() => ({LOADED})(document.querySelector('[data-testid=image-preview]'))")
    picture.get_by_role("button", name="Upload picture").click()
    expect_text(picture.get_by_role("status"), r"Picture saved")
    current = picture.get_by_test_id("image-current")
    expect(current).to_have_attribute("src", re.compile(r"^/api/catalog/products/.+/image/[0-9a-f]{16}/320\.webp$"))
    office.wait_for_function(f"() => ({LOADED})(document.querySelector('[data-testid=image-current]'))")
    expect(picture.get_by_role("button", name="Remove picture")).to_be_visible()
    # The products table (behind the form) shows it too, as a thumbnail on the product's row.
    thumb = office.locator(f'tr[data-sku="{shop.coffee.sku}"]').get_by_test_id("product-thumbnail")
    expect(thumb).to_have_attribute("src", re.compile(r"/96\.webp$"))
    thumb.evaluate("img => new Promise(ok => img.complete ? ok() : img.onload = ok)")
    assert thumb.evaluate(LOADED)

    # The cashier: the quick-key tile of the coffee has its picture, the tea's has none.
    till = open_tab(1280, 800).login(*shop.cashier)
    till.get_by_test_id("till").wait_for()
    keys = till.get_by_test_id("quick-keys").get_by_test_id("product-tile")
    expect(keys).to_have_count(2)
    coffee_tile, tea_tile = keys.nth(0), keys.nth(1)
    expect(coffee_tile.get_by_test_id("tile-image")).to_have_attribute("src", re.compile(r"/96\.webp$"))
    coffee_tile.get_by_test_id("tile-image").evaluate("img => new Promise(ok => img.complete ? ok() : img.onload = ok)")
    assert coffee_tile.get_by_test_id("tile-image").evaluate(LOADED)
    expect(tea_tile.get_by_test_id("tile-image")).to_have_count(0)

    # ... and so has its search result.
    till.get_by_test_id("till-search").fill(shop.coffee.name.split()[0])
    result = till.get_by_test_id("search-results").locator(f'[data-sku="{shop.coffee.sku}"]')
    expect(result.get_by_test_id("tile-image")).to_have_count(1)
    result.get_by_test_id("tile-image").evaluate("img => new Promise(ok => img.complete ? ok() : img.onload = ok)")
    assert result.get_by_test_id("tile-image").evaluate(LOADED)
    till.get_by_test_id("till-search").fill("")

    # Offline: the service worker kept the thumbnail it served.
    till.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=60_000)
    till.reload()  # the tiles' pictures now go through the worker (and into its cache)
    till.get_by_test_id("till").wait_for()
    shown = till.get_by_test_id("quick-keys").get_by_test_id("tile-image")
    expect(shown).to_have_count(1)
    shown.evaluate("img => new Promise(ok => img.complete ? ok() : img.onload = ok)")
    till.wait_for_function(
        "() => caches.has('product-images').then(has => has && caches.open('product-images')).then(c => c && c.keys()).then(k => !!k && k.length > 0)"
    )
    till.context.set_offline(True)
    till.reload()
    till.get_by_test_id("till").wait_for()
    shown = till.get_by_test_id("quick-keys").get_by_test_id("tile-image")
    expect(shown).to_have_count(1)
    shown.evaluate("img => new Promise(ok => img.complete ? ok() : img.onload = ok)")
    assert shown.evaluate(LOADED)

    # A picture the till never fetched while online (here: the tea's, as the tiles kept on
    # the till name it) cannot be had offline: the tile stays, with its name and price,
    # and no image at all; the coffee's, cached, still shows.
    key = f"pos.quickKeys.{shop.outlet_id}"
    till.evaluate(
        """([key, url]) => {
            const tiles = JSON.parse(localStorage.getItem(key));
            tiles[1].thumbnail_url = url;
            localStorage.setItem(key, JSON.stringify(tiles));
        }""",
        [key, f"/api/catalog/products/{shop.tea.id}/image/00000000000000aa/96.webp"],
    )
    till.reload()
    till.get_by_test_id("till").wait_for()
    expect(keys).to_have_count(2)
    expect(keys.nth(1)).to_contain_text(shop.tea.name)
    expect(keys.nth(1).get_by_test_id("tile-image")).to_have_count(0)
    expect(keys.nth(0).get_by_test_id("tile-image")).to_have_count(1)
    till.context.set_offline(False)
