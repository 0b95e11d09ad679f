from pos_platform.migrations_env import run

from pos_payments.tables import metadata

run(metadata)
