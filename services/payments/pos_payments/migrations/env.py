from pos_payments.tables import metadata
from pos_platform.migrations_env import run

run(metadata)
