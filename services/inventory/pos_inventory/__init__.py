"""Inventory: stock per outlet, reservations for checkout, the stock ledger."""
