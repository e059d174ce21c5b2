"""Plain functions holding the logic that jobs, views, admin and commands call."""
