"""Ways to run read-only commands on a host: locally or over SSH."""
