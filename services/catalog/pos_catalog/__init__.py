"""Catalog: products, barcodes, categories and prices."""
