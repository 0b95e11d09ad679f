from sqlalchemy import (
    BINARY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

from pos_platform.messaging_tables import LongText, add_messaging_tables
from pos_platform.outlets import outlets_table

metadata = MetaData()

# Search terms compare byte by byte (code-point order), so a prefix is an index range.
BinaryTerm = String(40).with_variant(mysql.VARCHAR(40, charset="utf8mb4", collation="utf8mb4_bin"), "mysql")

categories = Table(
    "categories",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", String(36), ForeignKey("categories.id"), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("category_id", String(36), ForeignKey("categories.id"), nullable=True),
    Column("price_minor", BigInteger, nullable=False),
    Column("cost_minor", BigInteger, nullable=False, default=0),
    Column("currency", String(3), nullable=False),
    Column("tax_class", String(32), nullable=False),
    # each | weight (price per kilogram; quantities in grams)
    Column("unit", String(16), nullable=False, default="each", server_default="each"),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # The product's barcodes, "|"-separated, sorted: a search page is read from the
    # product rows alone (the barcodes table answers "which product has this code").
    Column("barcode_list", String(400), nullable=False, default="", server_default=""),
    # The product image's key (images.py; the thumbnails are in product_images), or null.
    Column("image_key", String(16), nullable=True),
    Index("ix_products_name", "name"),
)

barcodes = Table(
    "barcodes",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), nullable=False, index=True),
)

# The words each product is found by (see domain.index_terms), one row per word.
# Prefix search is a range scan of ix_search_index_term in (term, sort_key) order, so
# LIMIT stops it after one page however many products match, and the scan needs no
# other table: `active` is in the key and product_key is the product id's 16 bytes
# (small rows: 300,000 products make ~2.4 million of them; ADR 0010).
search_index = Table(
    "search_index",
    metadata,
    Column("product_key", BINARY(16), primary_key=True),
    Column("term", BinaryTerm, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("sort_key", String(24), nullable=False),
    Index("ix_search_index_term", "active", "term", "sort_key", "product_key"),
)

# A different shelf price in one outlet, in the outlet's currency (identity's, from
# OutletCreated; NULL only for a row kept before migration 0009 filled it: the product's).
price_overrides = Table(
    "price_overrides",
    metadata,
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    Column("outlet_id", String(36), primary_key=True),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

# CSV imports: the web app polls status and progress (any replica can answer).
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    # validating -> importing -> done | failed (rejected rows, or an error)
    Column("status", String(16), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("filename", String(200), nullable=True),
    Column("total_rows", Integer, nullable=False, default=0),
    Column("validated_rows", Integer, nullable=False, default=0),
    Column("imported_rows", Integer, nullable=False, default=0),
    Column("created_count", Integer, nullable=False, default=0),
    Column("updated_count", Integer, nullable=False, default=0),
    Column("unchanged_count", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("errors", LongText, nullable=True),  # JSON list of {row, column, message}
    Column("message", String(500), nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
)

# The tills' replica feed (GET /api/catalog/changes, ADR 0015): one row per thing a till
# keeps (a product, a category, a product's price at one outlet), holding the sequence
# number of its latest change. A write renumbers its rows from change_counter at the end
# of its transaction; the counter row's lock, held until commit, makes sequence order
# commit order, so a reader never passes a number that is still to be committed. A row
# is never deleted: a deleted category's row stays as its tombstone.
catalog_changes = Table(
    "catalog_changes",
    metadata,
    # "" for what every outlet sees (products, categories); else the outlet whose own
    # price of the product changed (set or removed).
    Column("outlet_id", String(36), primary_key=True),
    Column("kind", String(1), primary_key=True),  # p (product) | c (category)
    Column("entity_id", String(36), primary_key=True),
    Column("change_seq", BigInteger, nullable=False),
    # The feed's keyset scan (one range per outlet scope), covering with the key.
    Index("ix_catalog_changes_feed", "outlet_id", "change_seq"),
)

# One row (id 1): the last change sequence number handed out.
change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)

add_messaging_tables(metadata, consumer=True)
known_outlets = outlets_table(metadata)


# The products an outlet's tills show as tiles on their first screen, in the order a
# manager arranged them (at most QUICK_KEYS_MAX; routes_quick_keys.py).
quick_keys = Table(
    "quick_keys",
    metadata,
    Column("outlet_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("updated_by", String(36), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


# Up to 16 MB a row on MariaDB (a plain BLOB stops at 64 KB).
ImageBytes = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql")

# A product's image as thumbnails (ADR 0068): one row per size, all of one upload
# sharing products.image_key. The original upload is not kept.
product_images = Table(
    "product_images",
    metadata,
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    Column("size", Integer, primary_key=True, autoincrement=False),  # longest side, px
    Column("image_key", String(16), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("data", ImageBytes, nullable=False),
    Column("updated_by", String(36), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
