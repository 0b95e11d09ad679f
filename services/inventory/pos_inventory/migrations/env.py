from pos_inventory.tables import metadata
from pos_platform.migrations_env import run

run(metadata)
