"""HTTP routes, one blueprint a module, each built by a function the app factory calls."""
