"""Shipped YAML baselines (data only; loaded with importlib.resources)."""
