"""Settings split by environment: base, local (development), test, production."""
