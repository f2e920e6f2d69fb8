"""HTTP routes: one module a blueprint, each named `blueprint`, registered by the app factory."""
