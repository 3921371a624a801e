"""Azure checks: facts from scanner.collectors.azure -> observations; baselines judge."""
