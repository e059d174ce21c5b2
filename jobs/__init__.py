"""Job definitions, grouped by what they do; each is a thin wrapper over a `logic` function."""
