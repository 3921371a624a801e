"""Host collectors: each pairs read-only commands with a pure parser (``parse_*``)."""
