"""Clients our users already have, against real servers: the openai SDKs, a generated SDK,
browser-style `fetch`, curl, and the compose/nginx deployment that serves them."""
