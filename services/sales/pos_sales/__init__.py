"""Sales: checkout, receipts, and the price replica fed by catalog events."""
