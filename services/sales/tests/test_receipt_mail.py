"""Receipt settings (shop name, address, tax number, header, footer) on the receipt, and
receipts by e-mail through SMTP: a real SMTP sink (scripts/mail_sink.py, aiosmtpd) in
its own process receives them; with the sink down the answer is a 503 and the sale is
as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from pos_platform.testing import free_port
from tests.smtp_sink import Sink, SmtpToSink, running_sink, smtp_to_sink, text_of

OUTLET = "outlet-a"

SHOP = {
    "shop_name": "Corner Coffee & Tea",
    "address": ["12 Quay Street", "Galway H91 X2Y3"],
    "tax_number": "IE1234567T",
    "receipt_header": ["Open 8-18 every day"],
    "receipt_footer": ["Returns within 30 days", "Thank you for shopping local"],
}


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA), as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail sink")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "sink-cert.pem", folder / "sink-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def smtp(port: int) -> SmtpToSink:
    return smtp_to_sink(
        port, "Corner Coffee <receipts@corner.test>", timeout_seconds=2, backoff_seconds=0.05, backoff_max_seconds=0.2
    )


def start(make_client: Callable[..., Any], helpers: Any, **settings: Any) -> Any:
    client = make_client(**settings)
    client.__enter__()
    helpers.seed_prices(client.app)
    helpers.seed_registers(client.app)
    return client


def save_shop(client: TestClient, auth: Any) -> dict[str, Any]:
    current = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth("manager")).json()
    saved = client.put(f"/api/sales/outlets/{OUTLET}/settings", json={**current, **SHOP}, headers=auth("manager"))
    assert saved.status_code == 200, saved.text
    return saved.json()


def sell(client: TestClient, auth: Any, helpers: Any) -> dict[str, Any]:
    body = helpers.sale([("mug", 2), ("tea", 1)], [{"kind": "cash", "amount_minor": 5000}], register_id="till-9")
    answer = client.post("/api/sales", json=body, headers=auth())
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_receipt_settings_are_printed_and_no_id_is(client: TestClient, auth: Any, helpers: Any) -> None:
    saved = save_shop(client, auth)
    assert {k: saved[k] for k in SHOP} == SHOP
    receipt = sell(client, auth, helpers)
    assert receipt["shop"] == {"name": SHOP["shop_name"], "address": SHOP["address"], "tax_number": "IE1234567T"}
    assert (receipt["header"], receipt["footer"]) == (SHOP["receipt_header"], SHOP["receipt_footer"])
    text = client.get(f"/api/sales/{receipt['sale_id']}/receipt", params={"format": "text"}, headers=auth()).text
    lines = [line.strip() for line in text.splitlines()]
    assert lines[:5] == [
        "Corner Coffee & Tea",
        "12 Quay Street",
        "Galway H91 X2Y3",
        "VAT/tax no. IE1234567T",
        "Open 8-18 every day",
    ]
    assert lines[-2:] == ["Returns within 30 days", "Thank you for shopping local"]
    assert receipt["sale_id"] not in text and "till-9" not in text  # no internal ids
    page = client.get(f"/api/sales/{receipt['sale_id']}/receipt", params={"format": "html"}, headers=auth()).text
    assert "Corner Coffee &amp; Tea" in page and "VAT/tax no. IE1234567T" in page and receipt["sale_id"] not in page


def test_without_a_shop_name_the_receipt_names_the_outlet(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = sell(client, auth, helpers)
    text = client.get(f"/api/sales/{receipt['sale_id']}/receipt", params={"format": "text"}, headers=auth()).text
    assert text.splitlines()[0].strip() == "Outlet-A"  # the outlet's name (conftest's replica)


def test_receipt_settings_refused_with_a_reason(client: TestClient, auth: Any) -> None:
    current = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth("manager")).json()
    put = lambda body: client.put(f"/api/sales/outlets/{OUTLET}/settings", json={**current, **body}, headers=auth("manager"))  # noqa: E731
    too_long = put({"shop_name": "x" * 81})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"][-1] == "shop_name"
    five = put({"address": ["1", "2", "3", "4", "5"]})
    assert five.status_code == 422 and five.json()["detail"][0]["loc"][-1] == "address"
    assert put({"tax_number": "T" * 41}).status_code == 422
    assert put({"receipt_footer": ["y" * 121]}).status_code == 422
    assert (
        client.put(f"/api/sales/outlets/{OUTLET}/settings", json={**current, **SHOP}, headers=auth()).status_code == 403
    )  # a cashier


def test_receipt_mailed_through_smtp(make_client: Callable[..., Any], auth: Any, helpers: Any, sink: Sink) -> None:
    client = start(make_client, helpers, **smtp(sink.port))
    save_shop(client, auth)
    receipt = sell(client, auth, helpers)
    sent = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": " ann@example.org "}, headers=auth())
    assert sent.status_code == 200, sent.text
    [mail] = sink.wait_for(1)
    assert mail["To"] == "ann@example.org" and mail["X-Rcpt-To"] == "ann@example.org"
    assert mail["From"] == "Corner Coffee <receipts@corner.test>"
    assert mail["Subject"] == f"Your receipt {receipt['receipt_number']} from Corner Coffee & Tea" == sent.json()["subject"]
    text = text_of(mail)
    for expected in (
        "Corner Coffee & Tea",
        "VAT/tax no. IE1234567T",
        "Open 8-18 every day",
        "Espresso cup <small>",
        "Green tea 100 g",
        "TOTAL EUR",
        "28.99",
        "Returns within 30 days",
        receipt["receipt_number"],
    ):
        assert expected in text, expected
    html = text_of(mail, "html")
    assert "Espresso cup &lt;small&gt;" in html and "28.99" in html and "Open 8-18 every day" in html
    # A mailed receipt is no reprint: the next copy is still copy 1.
    assert client.post(f"/api/sales/{receipt['sale_id']}/reprint", headers=auth()).json()["copy"] == 1
    client.__exit__(None, None, None)


def test_a_busy_mail_server_is_tried_again(make_client: Callable[..., Any], auth: Any, helpers: Any, sink: Sink) -> None:
    client = start(make_client, helpers, **smtp(sink.port))
    receipt = sell(client, auth, helpers)
    sent = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "bob@busy-once.invalid"}, headers=auth())
    assert sent.status_code == 200, sent.text  # 451 the first time, taken the second
    [mail] = sink.wait_for(1)
    assert mail["To"] == "bob@busy-once.invalid"
    client.__exit__(None, None, None)


def test_an_address_the_server_refuses_is_a_422(make_client: Callable[..., Any], auth: Any, helpers: Any, sink: Sink) -> None:
    client = start(make_client, helpers, **smtp(sink.port))
    receipt = sell(client, auth, helpers)
    refused = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "nobody@refused.invalid"}, headers=auth())
    assert refused.status_code == 422 and "refused the address nobody@refused.invalid" in refused.json()["detail"]
    typo = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example"}, headers=auth())
    assert typo.status_code == 422 and "not an e-mail address" in typo.json()["detail"][0]["msg"]
    injected = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "a@b.org\r\nBcc: x@y.org"}, headers=auth())
    assert injected.status_code == 422
    assert sink.messages() == []
    client.__exit__(None, None, None)


def test_mail_server_down_is_a_503_and_the_sale_is_untouched(make_client: Callable[..., Any], auth: Any, helpers: Any) -> None:
    client = start(make_client, helpers, **smtp(free_port()))  # nothing listens there
    receipt = sell(client, auth, helpers)
    before = client.get(f"/api/sales/{receipt['sale_id']}", headers=auth()).json()
    events = len(helpers.outbox(client, "SaleCompleted"))
    began = time.monotonic()
    down = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example.org"}, headers=auth())
    assert down.status_code == 503
    detail = down.json()["detail"]
    assert (
        "not sent" in detail
        and f"127.0.0.1:{client.app.state.ctx.settings.smtp_port}" in detail
        and "The sale is recorded" in detail
    )
    assert time.monotonic() - began < 5  # three tries with a short backoff, then the answer
    assert client.get(f"/api/sales/{receipt['sale_id']}", headers=auth()).json() == before
    assert len(helpers.outbox(client, "SaleCompleted")) == events
    assert client.post(f"/api/sales/{receipt['sale_id']}/reprint", headers=auth()).json()["copy"] == 1
    client.__exit__(None, None, None)


def test_mail_not_set_up_says_so(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = sell(client, auth, helpers)
    answer = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example.org"}, headers=auth())
    assert answer.status_code == 503 and "not set up" in answer.json()["detail"]


def test_only_staff_of_the_outlet_mail_its_receipts(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = sell(client, auth, helpers)
    other = client.post(
        f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example.org"}, headers=auth(outlets=["outlet-b"])
    )
    assert other.status_code == 404
    unknown = client.post("/api/sales/00000000-0000-4000-8000-000000000000/email", json={"to": "ann@example.org"}, headers=auth())
    assert unknown.status_code == 404


def test_starttls_with_a_verified_certificate_and_auth(
    make_client: Callable[..., Any], auth: Any, helpers: Any, tmp_path: Path
) -> None:
    """The sink requires STARTTLS and AUTH: the sender upgrades, checks the certificate
    against the CA it is given, logs in; a wrong password or an unknown CA is a 503."""
    cert, key = self_signed(tmp_path)
    with running_sink(
        tmp_path / "tls-mail", extra=("--tls-cert", str(cert), "--tls-key", str(key), "--auth", "pos:s3cret")
    ) as tls_sink:
        secure = smtp(tls_sink.port) | {
            "smtp_tls": "starttls",
            "smtp_tls_ca": str(cert),
            "smtp_username": "pos",
            "smtp_password": "s3cret",
        }
        client = start(make_client, helpers, **secure)
        receipt = sell(client, auth, helpers)
        sent = client.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example.org"}, headers=auth())
        assert sent.status_code == 200, sent.text
        [mail] = tls_sink.wait_for(1)
        assert mail["To"] == "ann@example.org"
        client.__exit__(None, None, None)

        wrong = start(make_client, helpers, **(secure | {"smtp_password": "guess"}))
        receipt = sell(wrong, auth, helpers)
        refused = wrong.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example.org"}, headers=auth())
        assert refused.status_code == 503 and "refused this server's log-in" in refused.json()["detail"]
        wrong.__exit__(None, None, None)

        unverified = start(make_client, helpers, **(secure | {"smtp_tls_ca": ""}))  # the system CAs do not know the sink
        receipt = sell(unverified, auth, helpers)
        untrusted = unverified.post(f"/api/sales/{receipt['sale_id']}/email", json={"to": "ann@example.org"}, headers=auth())
        assert untrusted.status_code == 503 and "certificate" in untrusted.json()["detail"].lower()
        unverified.__exit__(None, None, None)
        assert len(tls_sink.messages()) == 1
