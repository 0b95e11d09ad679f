"""Building blocks every POS service is made of (see docs/architecture.md)."""
