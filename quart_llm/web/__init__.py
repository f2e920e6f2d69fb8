"""Everything that imports Quart: hooks, body reading, auth, CORS, errors, OpenAPI, routes."""
