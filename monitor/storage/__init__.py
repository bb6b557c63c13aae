"""Storage: engine, schema, migrations, queries, source health, retention, forget."""
