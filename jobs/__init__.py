"""Job definitions, grouped by what they do. Each job is a thin wrapper over a function."""
