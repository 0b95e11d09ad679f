from pos_platform.migrations_env import run
from pos_reports.tables import metadata

run(metadata)
