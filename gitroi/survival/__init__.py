"""Survival analysis: follow every attributed line to the tip (H5 owns this package)."""
