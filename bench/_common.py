"""Helpers shared by the benchmark scripts."""

from urllib.parse import urlsplit


def mysql_database_create(url: str) -> None:
    """Create the database named in a mysql:// URL if it does not exist (utf8mb4)."""
    import MySQLdb

    parts = urlsplit(url)
    conn = MySQLdb.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        passwd=parts.password or "",
    )
    try:
        conn.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{parts.path.lstrip('/')}` CHARACTER SET utf8mb4"
        )
    finally:
        conn.close()
