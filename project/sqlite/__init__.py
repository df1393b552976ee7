"""Django's SQLite backend with one queue for writers across threads and processes."""
