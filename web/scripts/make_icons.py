"""Render the app icons (PNG) from public/icons/icon.svg with Debian's Chromium.

    /work/main/.venv/bin/python web/scripts/make_icons.py

The PNGs are committed; run this only after changing the SVG. Needs the `playwright`
Python package and /usr/bin/chromium (never `playwright install`).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parents[1] / "public" / "icons"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def maskable(svg: str) -> str:
    """Full-bleed background, glyph shrunk into the 80 % safe zone Android crops to."""
    glyph = re.search(r'<g id="glyph">.*?</g>', svg, re.S)
    assert glyph
    inner = glyph.group(0).replace('<g id="glyph">', '<g transform="translate(256 256) scale(0.78) translate(-256 -248)">')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">'
        f'<rect width="512" height="512" fill="#0f4c5c"/>{inner}</svg>'
    )


def main() -> None:
    svg = (ICONS / "icon.svg").read_text()
    jobs = [("icon-192.png", svg, 192, True), ("icon-512.png", svg, 512, True), ("apple-touch-icon.png", maskable(svg), 180, False),
            ("maskable-512.png", maskable(svg), 512, False)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, source, size, transparent in jobs:
            page = browser.new_page(viewport={"width": size, "height": size})
            sized = source.replace('width="512" height="512"', f'width="{size}" height="{size}"', 1)
            page.set_content(f'<html><body style="margin:0;background:transparent">{sized}</body></html>')
            page.screenshot(path=str(ICONS / name), omit_background=transparent)
            page.close()
            print("wrote", ICONS / name)
        browser.close()


if __name__ == "__main__":
    main()
