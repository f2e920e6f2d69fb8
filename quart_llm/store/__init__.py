"""The SQL database: what must be kept (keys, usage records), its schema and migrations.

Never awaited on the hot path of a chat request: keys are read into memory and refreshed,
usage records are written in batches.
"""
