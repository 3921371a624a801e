"""Checks on Linux hosts, one module per area."""
