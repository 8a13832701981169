"""Unit constants, each defined once."""

HOURS_PER_MONTH = 730  # 8760 h / 12, the convention of Azure's pricing calculator and infracost
HOURS_PER_YEAR = 8760
SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600
SECONDS_PER_MINUTE = 60
DAYS_PER_MONTH = HOURS_PER_MONTH / 24  # 30.416…
SECONDS_PER_MONTH = HOURS_PER_MONTH * SECONDS_PER_HOUR
GB = 1e9  # bytes; GPU memory and bandwidth are quoted in decimal units
GIB = 2**30
TOKENS_PER_MILLION = 1_000_000
