"""Hypercorn serving: its settings, signals, and draining at shutdown."""
