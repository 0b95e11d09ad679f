"""The tax sandbox: a tax calculation API of the project's own, with failures on demand (ADR 0064)."""
