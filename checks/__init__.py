"""souqscan's built-in checks, registered through the ``souqscan.checks`` entry points."""
