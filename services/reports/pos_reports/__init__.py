"""Reports: daily, item and tender sales, read models built from events only."""
