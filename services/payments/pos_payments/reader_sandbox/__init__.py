"""The card reader sandbox: a shop's card terminal on the LAN, and its acquirer (see app.py)."""
