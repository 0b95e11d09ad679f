"""The card sandbox: a Stripe-like card processor with fake money (see app.py)."""
