"""Baselines: YAML rules that judge observations."""
