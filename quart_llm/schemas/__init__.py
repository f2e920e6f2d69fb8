"""Wire models: what clients send and what the OpenAPI document says they get back."""
