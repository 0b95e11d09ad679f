"""Payments: captures the payment of a sale, tender by tender (cash now, card later)."""
