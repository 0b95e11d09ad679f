from pos_platform.migrations_env import run
from pos_sales.tables import metadata

run(metadata)
