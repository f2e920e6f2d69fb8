"""Which upstream answers: routes, fallbacks, retries, circuit breakers and deadlines."""
