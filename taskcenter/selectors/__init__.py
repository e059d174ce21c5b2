"""Read-only queries (selectors) of the task center, grouped by what they read."""
