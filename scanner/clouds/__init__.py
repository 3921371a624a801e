"""Cloud sessions: credentials, clients, paging and the one place SDK errors are translated."""
