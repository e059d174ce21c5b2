"""Database backends: Django's own, with what our request path needs changed."""
