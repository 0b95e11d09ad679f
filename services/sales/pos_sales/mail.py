"""Sending mail (a receipt to a customer): the SMTP sender and its errors live in
pos_platform.mail (shared with inventory's daily digest); this names sales' sender.

Nothing depends on the mail server: a receipt that cannot be sent is a 503 (or a 422
for an address refused for good), and the sale it belongs to is never touched.
See docs/adr/0062-receipts-by-mail-through-smtp.md.
"""

from __future__ import annotations

from pos_platform.mail import Mail, MailRefused, MailSender, MailUnavailable, SmtpMailSender, SmtpSettings

__all__ = ["Mail", "MailRefused", "MailSender", "MailUnavailable", "SmtpMailSender", "receipt_sender"]


def receipt_sender(settings: SmtpSettings) -> SmtpMailSender:
    """The SMTP sender for receipts: with no mail server set up, it says to print."""
    return SmtpMailSender(settings, not_set_up="print the receipt instead")
