"""What the routes call: chat, health, the model catalogue, keys and draining."""
