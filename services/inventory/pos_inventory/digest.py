"""The daily low-stock e-mail digest (issue 17, ADR 0069).

An outlet's manager opts in (on/off, a local time of day, recipients). Every minute
each inventory replica looks for outlets whose send moment has passed today (in the
outlet's time zone) and claims (outlet, local date) in `digest_runs`: the first INSERT
of that key wins, so one replica sends and the others pass. The claim carries a lease;
a mail server that is down marks the run `failed` with a later `next_try_at` (1, 2, 4
... minutes, at most `digest_retry_max_seconds`), and the next claim of that row is a
conditional UPDATE that one replica wins. Once the mail server took the message the
row is `sent` and is never claimed again.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from pos_inventory.digest_tables import digest_runs, digest_settings, outlet_zones, staff
from pos_inventory.domain import suggested_order
from pos_inventory.tables import known_outlets, products, stock
from pos_platform.db import Database, UnitOfWork, is_deadlock, upsert, utcnow
from pos_platform.mail import Mail, MailRefused, MailSender, MailUnavailable
from pos_platform.periodic import periodic

log = logging.getLogger("pos.inventory.digest")

DEFAULT_SEND_AT = time(7, 0)
MAX_RECIPIENTS = 20
# Products named one by one in a mail (the rest are counted, with the link to the page).
MAX_LINES = 200


# --- when -----------------------------------------------------------------------------


def zone_of(name: str | None) -> ZoneInfo:
    """The outlet's zone; UTC for one unknown here (logged: a digest goes, at UTC time)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone: the digest uses UTC", extra={"timezone": name})
        return ZoneInfo("UTC")


def send_moment(day: date, send_at: time, zone: ZoneInfo) -> datetime:
    """The moment (naive UTC) the digest of local `day` is due. A wall time the clocks
    skip (spring forward) is read with the offset before the change, so it falls just
    after the gap (02:30 on a day that jumps from 02:00 to 03:00 is 03:30); a wall time
    that happens twice (fall back) is its first occurrence."""
    local = datetime.combine(day, send_at, tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def due_day(now: datetime, zone: ZoneInfo, send_at: time, since: datetime) -> date | None:
    """The local date whose digest is due at `now` (naive UTC), or None: it is due once
    today's send moment has passed (late rather than never, after an outage, but only
    the same local day), and only a moment after the settings were saved (`since`)."""
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    moment = send_moment(today, send_at, zone)
    if now >= moment and moment >= since:
        return today
    return None


def retry_delay(attempts: int, max_seconds: float) -> timedelta:
    """How long a run that failed `attempts` times waits: 1, 2, 4 ... minutes."""
    return timedelta(seconds=min(60.0 * 2 ** max(0, attempts - 1), max_seconds))


# --- what -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    product_id: str
    sku: str | None
    name: str | None
    on_hand: int
    reorder_point: int
    suggested_order_qty: int


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str
    lines: list[Line]


def low_lines(uow: UnitOfWork, outlet_id: str) -> list[Line]:
    """The outlet's products at or under their reorder point, emptiest first (as the Low
    stock page lists them)."""
    query = (
        select(stock.c.product_id, products.c.sku, products.c.name, stock.c.on_hand, stock.c.reorder_point, stock.c.reorder_qty)
        .join(products, products.c.product_id == stock.c.product_id, isouter=True)
        .where(stock.c.outlet_id == outlet_id, stock.c.reorder_point > 0, stock.c.on_hand <= stock.c.reorder_point)
        .order_by(stock.c.on_hand - stock.c.reorder_point, products.c.name, stock.c.product_id)
    )
    return [
        Line(r.product_id, r.sku, r.name, r.on_hand, r.reorder_point, suggested_order(r.on_hand, r.reorder_point, r.reorder_qty))
        for r in uow.session.execute(query).all()
    ]


def low_stock_link(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/#/office/low-stock"


def compose(outlet_name: str, day: date, lines: Sequence[Line], link: str, *, test: bool = False) -> Composed:
    """The digest as plain text and HTML: one row per product (name, SKU, on hand,
    reorder point, suggested order), or the "all stocked" line when there is none."""
    count = len(lines)
    what = f"{count} product{'s' if count != 1 else ''} to reorder" if count else "all stocked"
    subject = f"{'[test] ' if test else ''}Low stock at {outlet_name}: {what} ({day.isoformat()})"
    shown = list(lines[:MAX_LINES])
    more = count - len(shown)
    heading = f"Low stock at {outlet_name} on {day.isoformat()}"
    if count:
        intro = f"{count} product{'s are' if count != 1 else ' is'} at or under the reorder point."
    else:
        intro = "All stocked: no product is at or under its reorder point."
    text_rows = [heading, "", intro, ""]
    if shown:
        width = max(len(_label(line)) for line in shown)
        width = min(max(width, 7), 48)
        text_rows.append(f"{'Product':<{width}}  {'On hand':>7}  {'Reorder at':>10}  {'Order':>6}")
        for line in shown:
            text_rows.append(
                f"{_label(line)[:width]:<{width}}  {line.on_hand:>7}  {line.reorder_point:>10}  {line.suggested_order_qty:>6}"
            )
        if more:
            text_rows.append(f"... and {more} more")
        text_rows.append("")
    text_rows += [f"Low stock page: {link}", "", "You get this mail because the outlet's daily low-stock digest is on."]
    if test:
        text_rows.insert(0, "This is a test digest, sent on request: the daily one is unchanged.\n")
    esc = html.escape
    body = [f"<h1>{esc(heading)}</h1>"]
    if test:
        body.insert(0, "<p><em>This is a test digest, sent on request: the daily one is unchanged.</em></p>")
    body.append(f"<p>{esc(intro)}</p>")
    if shown:
        body.append(
            '<table border="1" cellpadding="4" cellspacing="0"><thead><tr><th>Product</th><th>SKU</th>'
            "<th>On hand</th><th>Reorder point</th><th>Suggested order</th></tr></thead><tbody>"
        )
        for line in shown:
            body.append(
                f"<tr><td>{esc(line.name or line.product_id)}</td><td>{esc(line.sku or '')}</td>"
                f'<td align="right">{line.on_hand}</td><td align="right">{line.reorder_point}</td>'
                f'<td align="right">{line.suggested_order_qty}</td></tr>'
            )
        body.append("</tbody></table>")
        if more:
            body.append(f"<p>... and {more} more.</p>")
    body.append(f'<p><a href="{esc(link, quote=True)}">Open the Low stock page</a></p>')
    body.append("<p><small>You get this mail because the outlet's daily low-stock digest is on.</small></p>")
    page = f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(subject)}</title></head><body>{"".join(body)}</body></html>'
    return Composed(subject=subject, text="\n".join(text_rows) + "\n", html=page, lines=list(lines))


def _label(line: Line) -> str:
    name = line.name or line.product_id
    return f"{name} ({line.sku})" if line.sku else name


# --- who ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutletDigest:
    """An outlet's saved settings (or the defaults when none are saved)."""

    outlet_id: str
    enabled: bool = False
    send_at: time = DEFAULT_SEND_AT
    recipients: list[str] = field(default_factory=list)
    send_when_all_stocked: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None


def read_settings(uow: UnitOfWork, outlet_id: str) -> OutletDigest:
    row = uow.session.execute(select(digest_settings).where(digest_settings.c.outlet_id == outlet_id)).first()
    return _settings(row) if row is not None else OutletDigest(outlet_id)


def _settings(row: Any) -> OutletDigest:
    return OutletDigest(
        outlet_id=row.outlet_id,
        enabled=bool(row.enabled),
        send_at=time.fromisoformat(row.send_at),
        recipients=list(json.loads(row.recipients or "[]")),
        send_when_all_stocked=bool(row.send_when_all_stocked),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def save_settings(uow: UnitOfWork, value: OutletDigest, user_id: str) -> None:
    upsert(
        uow.session,
        digest_settings,
        {"outlet_id": value.outlet_id},
        sets={
            "enabled": value.enabled,
            "send_at": value.send_at.strftime("%H:%M"),
            "recipients": json.dumps(value.recipients),
            "send_when_all_stocked": value.send_when_all_stocked,
            "updated_by": user_id,
            "updated_at": utcnow(),
        },
    )


def managers_of(uow: UnitOfWork, outlet_id: str) -> list[str]:
    """The addresses of the outlet's active managers, as identity announced them."""
    rows = uow.session.execute(select(staff.c.email, staff.c.outlets).where(staff.c.role == "manager", staff.c.active)).all()
    return sorted({r.email for r in rows if r.email and outlet_id in json.loads(r.outlets or "[]")})


def effective_recipients(uow: UnitOfWork, value: OutletDigest) -> list[str]:
    return list(value.recipients) or managers_of(uow, value.outlet_id)


def outlet_name(uow: UnitOfWork, outlet_id: str) -> str:
    name = uow.session.scalar(select(known_outlets.c.name).where(known_outlets.c.outlet_id == outlet_id))
    return name or outlet_id


def outlet_zone(uow: UnitOfWork, outlet_id: str) -> str:
    return uow.session.scalar(select(outlet_zones.c.timezone).where(outlet_zones.c.outlet_id == outlet_id)) or "UTC"


def last_run(uow: UnitOfWork, outlet_id: str) -> Any:
    query = select(digest_runs).where(digest_runs.c.outlet_id == outlet_id).order_by(digest_runs.c.local_date.desc()).limit(1)
    return uow.session.execute(query).first()


# --- the job --------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    outlet_id: str
    day: date
    attempts: int


@dataclass(frozen=True)
class Outcome:
    outlet_id: str
    day: date
    status: str  # sent | nothing | failed | refused
    recipients: list[str]
    lines: int
    error: str | None = None


class DigestJob:
    """One replica's digest sender: `run_once` sends every digest due now that this
    replica wins the claim of. Several replicas (or several DigestJobs) may run it at
    the same moment: each (outlet, local day) is mailed once."""

    def __init__(
        self,
        db: Database,
        sender: MailSender,
        *,
        worker: str,
        public_url: str,
        lease_seconds: float = 600.0,
        retry_max_seconds: float = 1800.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.sender = sender
        self.worker = worker[:64]
        self.link = low_stock_link(public_url)
        self.lease = timedelta(seconds=lease_seconds)
        self.retry_max_seconds = retry_max_seconds
        self.clock = clock

    async def run_once(self) -> list[Outcome]:
        now = self.clock()
        outcomes = []
        for outlet_id, day in await asyncio.to_thread(self.due, now):
            claim = await asyncio.to_thread(self.claim, outlet_id, day, now)
            if claim is not None:
                outcomes.append(await self.deliver(claim))
        return outcomes

    def due(self, now: datetime) -> list[tuple[str, date]]:
        """(outlet, local day) pairs due now and not settled (sent, nothing to report,
        refused), nor failed with a retry still to wait for, nor held by a live claim."""
        with self.db.transaction() as uow:
            rows = uow.session.execute(
                select(digest_settings, outlet_zones.c.timezone)
                .join(outlet_zones, outlet_zones.c.outlet_id == digest_settings.c.outlet_id, isouter=True)
                .where(digest_settings.c.enabled)
            ).all()
            candidates = []
            for row in rows:
                value = _settings(row)
                day = due_day(now, zone_of(row.timezone), value.send_at, value.updated_at or now)
                if day is not None:
                    candidates.append((value.outlet_id, day))
            if not candidates:
                return []
            runs = {
                (r.outlet_id, r.local_date): r
                for r in uow.session.execute(
                    select(digest_runs).where(
                        or_(*(and_(digest_runs.c.outlet_id == o, digest_runs.c.local_date == d) for o, d in candidates))
                    )
                ).all()
            }
        return [(o, d) for o, d in candidates if _claimable(runs.get((o, d)), now)]

    def claim(self, outlet_id: str, day: date, now: datetime) -> Claim | None:
        """Make this replica the sender of (outlet, day), or None if another one is (or
        it is settled). The first claim is an INSERT (the key is unique: one wins);
        taking over a failed run whose retry time came, or a claim whose lease ran out
        (a replica that died sending), is an UPDATE guarded by that state."""
        values = {"status": "sending", "claimed_by": self.worker, "lease_until": now + self.lease}
        try:
            with self.db.transaction() as uow:
                uow.session.execute(
                    insert(digest_runs).values(outlet_id=outlet_id, local_date=day, attempts=1, created_at=now, **values)
                )
            return Claim(outlet_id, day, 1)
        except IntegrityError:
            pass  # the row exists: taken over below if it may be
        except OperationalError as exc:
            if is_deadlock(exc):
                return None  # another replica is claiming it right now
            raise
        key = and_(digest_runs.c.outlet_id == outlet_id, digest_runs.c.local_date == day)
        retryable = or_(
            and_(digest_runs.c.status == "failed", digest_runs.c.next_try_at <= now),
            and_(digest_runs.c.status == "sending", digest_runs.c.lease_until < now),
        )
        try:
            with self.db.transaction() as uow:
                taken = uow.session.execute(
                    update(digest_runs).where(key, retryable).values(attempts=digest_runs.c.attempts + 1, **values)
                ).rowcount
                if taken != 1:
                    return None
                attempts = uow.session.scalar(select(digest_runs.c.attempts).where(key))
        except OperationalError as exc:
            if is_deadlock(exc):
                return None
            raise
        return Claim(outlet_id, day, int(attempts or 1))

    def compose_for(self, outlet_id: str, day: date) -> tuple[OutletDigest, list[str], Composed]:
        with self.db.transaction() as uow:
            value = read_settings(uow, outlet_id)
            recipients = effective_recipients(uow, value)
            composed = compose(outlet_name(uow, outlet_id), day, low_lines(uow, outlet_id), self.link)
        return value, recipients, composed

    async def deliver(self, claim: Claim) -> Outcome:
        value, recipients, composed = await asyncio.to_thread(self.compose_for, claim.outlet_id, claim.day)
        lines = len(composed.lines)
        extra = {"outlet_id": claim.outlet_id, "local_date": claim.day.isoformat(), "attempt": claim.attempts}
        if not composed.lines and not value.send_when_all_stocked:
            await self.settle(claim, "nothing", recipients=[], lines=0)
            log.info("low-stock digest: nothing to report, no mail", extra=extra)
            return Outcome(claim.outlet_id, claim.day, "nothing", [], 0)
        if not recipients:
            error = "no recipients: the outlet has no manager with an e-mail address and none are listed"
            await self.settle(claim, "failed", error=error)
            log.warning("low-stock digest not sent: %s", error, extra=extra)
            return Outcome(claim.outlet_id, claim.day, "failed", [], lines, error)
        try:
            await self.sender.send(Mail(to=recipients, subject=composed.subject, text=composed.text, html=composed.html))
        except MailUnavailable as down:
            await self.settle(claim, "failed", error=str(down))
            log.warning("low-stock digest not sent, tried again later: %s", down, extra=extra)
            return Outcome(claim.outlet_id, claim.day, "failed", recipients, lines, str(down))
        except MailRefused as refused:
            await self.settle(claim, "refused", error=str(refused))
            log.error("low-stock digest refused by the mail server (not tried again): %s", refused, extra=extra)
            return Outcome(claim.outlet_id, claim.day, "refused", recipients, lines, str(refused))
        await self.settle(claim, "sent", recipients=recipients, lines=lines)
        log.info("low-stock digest sent", extra=extra | {"lines": lines, "recipients": len(recipients)})
        return Outcome(claim.outlet_id, claim.day, "sent", recipients, lines)

    async def settle(
        self,
        claim: Claim,
        status: str,
        *,
        recipients: list[str] | None = None,
        lines: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record how the claimed run ended. Retried for a while if the database fails:
        the lease keeps other replicas off the row meanwhile, so a delivered digest is
        marked sent before anyone could send it again."""
        now = self.clock()
        values: dict[str, Any] = {"status": status, "last_error": (error or None) and error[:500]}
        if status == "failed":
            values["next_try_at"] = now + retry_delay(claim.attempts, self.retry_max_seconds)
        if status in ("sent", "nothing"):
            values |= {"sent_at": now if status == "sent" else None, "recipients": json.dumps(recipients or []), "lines": lines}
        key = and_(digest_runs.c.outlet_id == claim.outlet_id, digest_runs.c.local_date == claim.day)
        for attempt in range(5):
            try:
                with self.db.transaction() as uow:
                    uow.session.execute(update(digest_runs).where(key, digest_runs.c.claimed_by == self.worker).values(**values))
                return
            except OperationalError:
                if attempt == 4:
                    raise
                log.warning("recording a digest run failed: trying again", exc_info=True)
                await asyncio.sleep(2**attempt)


def _claimable(run: Any, now: datetime) -> bool:
    if run is None:
        return True
    if run.status == "failed":
        return run.next_try_at is None or run.next_try_at <= now
    if run.status == "sending":
        return bool(run.lease_until < now)
    return False  # sent, nothing, refused


def next_send(now: datetime, zone: ZoneInfo, send_at: time, since: datetime, *, today_settled: bool) -> datetime:
    """When the next digest is due (naive UTC): today's send moment if today's digest is
    still to go (a moment already past means "now, at the next check"), else the next
    day's."""
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    for offset in range(3):
        day = today + timedelta(days=offset)
        moment = send_moment(day, send_at, zone)
        if moment < since or (day == today and today_settled):
            continue
        if moment > now or day == today:
            return moment
    return send_moment(today + timedelta(days=3), send_at, zone)


async def run_digests(ctx: Any, sender: MailSender) -> None:
    """Background job (every replica): look for due digests every
    `digest_check_seconds`, and send those this replica claims."""
    settings = ctx.settings
    job = DigestJob(
        ctx.db,
        sender,
        worker=f"{settings.instance_id}/{uuid.uuid4().hex[:8]}",
        public_url=settings.public_url,
        lease_seconds=settings.digest_lease_seconds,
        retry_max_seconds=settings.digest_retry_max_seconds,
    )
    await periodic(job.run_once, every=settings.digest_check_seconds, what="low-stock digest", logger=log, first_after=5.0)
