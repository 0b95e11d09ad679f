from pos_sales.tables import metadata
from pos_platform.migrations_env import run

run(metadata)
