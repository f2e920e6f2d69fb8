"""Hypercorn serving, signals and the access log."""
