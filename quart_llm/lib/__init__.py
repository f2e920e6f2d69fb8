"""Small building blocks that know nothing of the gateway: ids, cached values, tasks."""
