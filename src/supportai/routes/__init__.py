"""HTTP endpoints, one module per concern. Handlers stay thin: validate, scope, call the store."""
