"""Seeds a demo chain through the public API (so it works against any run mode):
two outlets with a register each, a manager (with a PIN for approvals at the till) and
a cashier, a few dozen products with barcodes and stock.

`pos-demo-seed --base-url http://127.0.0.1:8080 --email admin@example.com --password ...`
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

import httpx

from pos_catalog.domain import expected_check_digit
from pos_identity.domain import pin_problem

CATALOGUE: dict[str, list[tuple[str, int, str]]] = {
    "Bakery": [
        ("Sourdough loaf", 420, "reduced"),
        ("Croissant", 145, "reduced"),
        ("Baguette", 190, "reduced"),
        ("Cinnamon roll", 250, "reduced"),
        ("Rye bread", 380, "reduced"),
        ("Blueberry muffin", 225, "reduced"),
    ],
    "Dairy": [
        ("Whole milk 1 l", 129, "reduced"),
        ("Greek yoghurt 500 g", 289, "reduced"),
        ("Butter 250 g", 319, "reduced"),
        ("Cheddar 200 g", 349, "reduced"),
        ("Free-range eggs x6", 299, "reduced"),
        ("Oat milk 1 l", 199, "reduced"),
    ],
    "Drinks": [
        ("Espresso beans 250 g", 799, "standard"),
        ("Orange juice 1 l", 279, "standard"),
        ("Sparkling water 1.5 l", 89, "standard"),
        ("Cola 330 ml", 119, "standard"),
        ("Green tea x20", 349, "standard"),
        ("Lemonade 750 ml", 229, "standard"),
    ],
    "Fruit & Veg": [
        ("Bananas 1 kg", 179, "zero"),
        ("Apples 1 kg", 249, "zero"),
        ("Tomatoes 500 g", 229, "zero"),
        ("Avocado", 129, "zero"),
        ("Carrots 1 kg", 99, "zero"),
        ("Lemons x4", 199, "zero"),
    ],
    "Household": [
        ("Dish soap 500 ml", 189, "standard"),
        ("Paper towels x2", 349, "standard"),
        ("Bin bags x20", 299, "standard"),
        ("Sponges x3", 149, "standard"),
        ("Laundry liquid 1 l", 649, "standard"),
        ("Candles x2", 499, "standard"),
    ],
    "Snacks": [
        ("Dark chocolate 100 g", 249, "standard"),
        ("Salted crisps 150 g", 199, "standard"),
        ("Trail mix 200 g", 399, "standard"),
        ("Oat biscuits", 179, "standard"),
        ("Popcorn 90 g", 149, "standard"),
        ("Gummy bears 200 g", 169, "standard"),
    ],
}


def ean13(n: int) -> str:
    body = f"200{n:09d}"  # GS1 prefix 200-299: numbers for in-store use
    return body + str(expected_check_digit(body))


def demo_pin() -> str:
    """A random 4-digit PIN that identity accepts (not 1111, not a run such as 1234)."""
    while True:
        pin = f"{secrets.randbelow(10_000):04d}"
        if pin_problem(pin) is None:
            return pin


def log_in(http: httpx.Client, email: str, password: str) -> None:
    """Send `http`'s requests from now on as this user (identity's access token)."""
    token = (
        http.post("/api/identity/login", json={"email": email, "password": password}).raise_for_status().json()["access_token"]
    )
    http.headers["Authorization"] = f"Bearer {token}"


def seed(base_url: str, email: str, password: str) -> dict[str, str]:
    """Create the demo chain; returns what to print with the log-ins: each demo user's
    email and password, and their PINs (`manager@example.com PIN`)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        log_in(http, email, password)
        outlets = [
            http.post("/api/identity/outlets", json={"name": name, "currency": "EUR"}).raise_for_status().json()["id"]
            for name in ("Harbour Street", "Station Square")
        ]
        # One register per outlet, so tills have shifts (float, cash count, Z-report) at once.
        for outlet_id in outlets:
            http.post("/api/identity/registers", json={"outlet_id": outlet_id, "name": "Till 1"}).raise_for_status()
        users = {}
        pins = {"manager": demo_pin(), "cashier": demo_pin()}
        for role, outlet_ids in (("manager", outlets), ("cashier", outlets[:1])):
            user_password = secrets.token_urlsafe(9)
            user_email = f"{role}@example.com"
            body = {
                "email": user_email,
                "name": f"Demo {role}",
                "password": user_password + "-demo",
                "role": role,
                "outlets": outlet_ids,
            }
            # The manager's PIN approves a cashier's refunds, voids and large discounts;
            # both switch cashier at a till with theirs.
            body["pin"] = pins[role]
            http.post("/api/identity/users", json=body).raise_for_status()
            users[user_email] = user_password + "-demo"
        users["manager@example.com PIN"] = pins["manager"]
        users["cashier@example.com PIN"] = pins["cashier"]
        number = 0
        for category, items in CATALOGUE.items():
            category_id = http.post("/api/catalog/categories", json={"name": category}).raise_for_status().json()["id"]
            for name, price, tax_class in items:
                number += 1
                product = (
                    http.post(
                        "/api/catalog/products",
                        json={
                            "sku": f"DEMO-{number:04d}",
                            "name": name,
                            "barcodes": [ean13(number)],
                            "category_id": category_id,
                            "price_minor": price,
                            "cost_minor": price * 55 // 100,
                            "tax_class": tax_class,
                        },
                    )
                    .raise_for_status()
                    .json()
                )
                for i, outlet_id in enumerate(outlets):
                    # Every ninth product runs low at the first outlet (3 on hand against a
                    # reorder point of 5): the dashboard's restocking tile has something to say.
                    qty = 3 if i == 0 and number % 9 == 0 else 20 + (number * 7 + i * 5) % 40
                    http.post(
                        "/api/inventory/receipts",
                        json={
                            "outlet_id": outlet_id,
                            "lines": [{"product_id": product["id"], "qty": qty}],
                            "reference": "opening stock",
                        },
                    ).raise_for_status()
                    http.put(
                        "/api/inventory", json={"outlet_id": outlet_id, "product_id": product["id"], "reorder_point": 5}
                    ).raise_for_status()
        return users


def seed_in_background(base_url: str, data_dir: Path, history_days: int = 0) -> None:
    """First start of embedded mode: wait for the server, seed once, print how to log in;
    then, when asked, record `history_days` of past sales (once), a line when done."""
    marker = data_dir / "demo-seeded"
    credentials = data_dir / "admin-credentials.txt"
    for _ in range(300):
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200 and credentials.exists():
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    if not marker.exists():
        fields = dict(line.split(": ", 1) for line in credentials.read_text().splitlines() if ": " in line)
        try:
            users = seed(base_url, fields["email"], fields["password"])
        except Exception as exc:  # a demo failure must not take the POS down
            print(f"demo data could not be seeded: {exc}", file=sys.stderr, flush=True)
            return
        with credentials.open("a") as out:
            for email, password in users.items():
                out.write(f"{email}: {password}\n")
        marker.write_text("seeded\n")
    history = data_dir / "demo-history"
    history_days = 0 if history.exists() else history_days
    print(login_box(base_url, credentials, history_days), flush=True)
    if history_days:
        record_history(base_url, credentials, history, history_days)


def record_history(base_url: str, credentials: Path, marker: Path, days: int) -> None:
    """The past sales (pos_embedded.history), after the log-ins are printed: the till is
    usable meanwhile."""
    from pos_embedded.history import seed_history

    fields = dict(line.split(": ", 1) for line in credentials.read_text().splitlines() if ": " in line)
    started = time.monotonic()
    try:
        done = seed_history(
            base_url, fields["email"], fields["password"], days, limits_file=marker.with_name(marker.name + ".limits.json")
        )
    except Exception as exc:  # a demo failure must not take the POS down
        print(f"demo history could not be recorded: {exc!r}", file=sys.stderr, flush=True)
        return
    marker.write_text(f"{done.sales} sales over {days} days\n")
    note = f", {done.sync_exceptions} sync exceptions to look at" if done.sync_exceptions else ""
    print(
        f"demo history: {done.sales} past sales over {days} days and {done.refunds} refunds recorded "
        f"in {time.monotonic() - started:.0f} s: the dashboard and reports show them{note}",
        flush=True,
    )


def login_box(base_url: str, credentials: Path, history_days: int = 0) -> str:
    """How to log in, in a box: printed last, after the start-up logs, so it is the
    first thing a new user sees."""
    lines = [f"POS ready: open {base_url}/", ""]
    lines += [line for line in credentials.read_text().splitlines() if line.strip()]
    lines += [
        "",
        "The manager's PIN approves a cashier's refunds, voids and large",
        "discounts at the till; each PIN switches to its owner at a till",
        "(Switch cashier).",
    ]
    if history_days:
        lines += [
            "",
            f"Sell now: {history_days} days of past sales are being recorded in",
            "the background for the dashboard and reports (a line says when).",
        ]
    lines += [f"(kept in {credentials})"]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join(["", rule, *(f"| {line.ljust(width)} |" for line in lines), rule, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Seed a demo chain through the API")
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--password", required=True)
    parser.add_argument("--history-days", type=int, default=0, help="also record this many days of past sales (at most 29)")
    args = parser.parse_args(argv)
    for email, password in seed(args.base_url, args.email, args.password).items():
        print(f"{email}: {password}")
    if args.history_days:
        from pos_embedded.history import seed_history

        done = seed_history(args.base_url, args.email, args.password, args.history_days, log=print)
        print(f"demo history: {done.sales} past sales, {done.refunds} refunds")


if __name__ == "__main__":
    main()
