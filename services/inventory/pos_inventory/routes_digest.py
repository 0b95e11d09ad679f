"""The daily low-stock e-mail digest's API (issue 17, ADR 0069): an outlet's settings
(a manager of that outlet or an admin), and a test digest sent at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from pos_inventory import digest
from pos_inventory.digest_schemas import DigestLineOut, DigestRunOut, DigestSettingsIn, DigestSettingsOut, DigestTestOut
from pos_inventory.routes import context, iso
from pos_platform.app import unprocessable
from pos_platform.audit import record_audit
from pos_platform.auth import Manager, ensure_outlet
from pos_platform.db import UnitOfWork, utcnow
from pos_platform.mail import Mail, MailRefused, MailSender, MailUnavailable
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet

router = APIRouter(prefix="/api/inventory", tags=["inventory: low-stock digest"])

NO_RECIPIENTS = (
    "no manager of this outlet has an e-mail address known to inventory yet: list the recipients "
    "(e.g. your own address) to turn the digest on"
)


def sender(request: Request) -> MailSender:
    return request.app.state.digest_sender


def _settings_out(uow: UnitOfWork, outlet_id: str) -> DigestSettingsOut:
    value = digest.read_settings(uow, outlet_id)
    zone_name = digest.outlet_zone(uow, outlet_id)
    managers = digest.managers_of(uow, outlet_id)
    run = digest.last_run(uow, outlet_id)
    now = utcnow()
    zone = digest.zone_of(zone_name)
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    next_at = None
    if value.enabled:
        settled = run is not None and run.local_date == today and run.status in ("sent", "nothing", "refused")
        next_at = digest.next_send(now, zone, value.send_at, value.updated_at or now, today_settled=settled)
    return DigestSettingsOut(
        outlet_id=outlet_id,
        enabled=value.enabled,
        send_at=value.send_at.strftime("%H:%M"),
        timezone=zone_name,
        recipients=value.recipients,
        managers=managers,
        sends_to=value.recipients or managers,
        send_when_all_stocked=value.send_when_all_stocked,
        updated_at=iso(value.updated_at),
        updated_by=value.updated_by,
        next_send_at=iso(next_at),
        last_run=None if run is None else _run_out(run),
    )


def _run_out(run: Any) -> DigestRunOut:
    return DigestRunOut(
        local_date=run.local_date.isoformat(),
        status=run.status,
        attempts=run.attempts,
        recipients=json.loads(run.recipients or "[]"),
        lines=run.lines,
        sent_at=iso(run.sent_at),
        next_try_at=iso(run.next_try_at) if run.status == "failed" else None,
        last_error=run.last_error,
    )


@router.get("/outlets/{outlet_id}/low-stock-digest", response_model=DigestSettingsOut)
def get_digest_settings(outlet_id: str, principal: Manager, request: Request) -> DigestSettingsOut:
    """The outlet's daily low-stock digest: on or off, when (local time), to whom, and
    how the latest one went. An outlet that never saved any shows the defaults (off,
    07:00, the outlet's managers)."""
    ensure_outlet(principal, outlet_id)
    with context(request).db.transaction() as uow:
        return _settings_out(uow, outlet_id)


@router.put(
    "/outlets/{outlet_id}/low-stock-digest",
    response_model=DigestSettingsOut,
    responses=unprocessable("a time or an address that is not one, or the digest turned on with nobody to send it to"),
)
def put_digest_settings(outlet_id: str, body: DigestSettingsIn, principal: Manager, request: Request) -> DigestSettingsOut:
    """Turn the outlet's daily digest on or off, and set when (HH:MM in the outlet's time
    zone) and to whom (empty: the outlet's managers) it goes. The first digest goes at
    the next send moment after saving (saving at 10:00 a time of 08:00: tomorrow)."""
    ctx = context(request)
    ensure_known_outlet(ctx.db, principal, outlet_id)
    value = digest.OutletDigest(
        outlet_id=outlet_id,
        enabled=body.enabled,
        send_at=time.fromisoformat(body.send_at),
        recipients=body.recipients,
        send_when_all_stocked=body.send_when_all_stocked,
    )
    with ctx.db.transaction() as uow:
        before = digest.read_settings(uow, outlet_id)
        if value.enabled and not digest.effective_recipients(uow, value):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, NO_RECIPIENTS)
        digest.save_settings(uow, value, principal.user_id)
        record_audit(
            uow,
            "stock.digest_settings_changed",
            actor=principal,
            request=request,
            target_type="outlet",
            target_id=outlet_id,
            outlet_id=outlet_id,
            details={"before": _audit_view(before), "after": _audit_view(value)},
        )
    with ctx.db.transaction() as uow:
        return _settings_out(uow, outlet_id)


def _audit_view(value: digest.OutletDigest) -> dict[str, Any]:
    return {
        "enabled": value.enabled,
        "send_at": value.send_at.strftime("%H:%M"),
        "recipients": value.recipients,
        "send_when_all_stocked": value.send_when_all_stocked,
    }


@router.post(
    "/outlets/{outlet_id}/low-stock-digest/test",
    response_model=DigestTestOut,
    responses=unprocessable("nobody to send it to, or the mail server refused the address")
    | errors({503: "the mail server could not be reached, or e-mail is not set up: nothing was sent"}),
)
async def send_test_digest(outlet_id: str, principal: Manager, request: Request) -> DigestTestOut:
    """Send the outlet's digest now, as it would go today (to the saved recipients, else
    the managers), marked as a test; answers with what was sent. The daily digest is not
    affected (it still goes at its time), and it is sent even with nothing to report."""
    ctx = context(request)
    await run_in_threadpool(ensure_known_outlet, ctx.db, principal, outlet_id)
    settings = ctx.settings

    def read() -> tuple[list[str], digest.Composed]:
        with ctx.db.transaction() as uow:
            value = digest.read_settings(uow, outlet_id)
            zone = digest.zone_of(digest.outlet_zone(uow, outlet_id))
            today = datetime.now(UTC).astimezone(zone).date()
            lines = digest.low_lines(uow, outlet_id)
            name = digest.outlet_name(uow, outlet_id)
            return digest.effective_recipients(uow, value), digest.compose(
                name, today, lines, digest.low_stock_link(settings.public_url), test=True
            )

    to, composed = await run_in_threadpool(read)
    if not to:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, NO_RECIPIENTS)
    try:
        await sender(request).send(Mail(to=to, subject=composed.subject, text=composed.text, html=composed.html))
    except MailRefused as refused:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"The test digest was not sent: {refused}. Check the addresses."
        ) from None
    except MailUnavailable as down:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"The test digest was not sent: {down}. Try again later."
        ) from None
    return DigestTestOut(
        outlet_id=outlet_id,
        to=to,
        subject=composed.subject,
        text=composed.text,
        lines=[DigestLineOut(**line.__dict__) for line in composed.lines],
        sent_at=iso(utcnow()) or "",
    )
