"""souqscan: infrastructure hardening and KSA/GCC data-residency scanner."""

__version__ = "0.1.0"
