"""Reports: read models built from every service's events, and the report endpoints."""
