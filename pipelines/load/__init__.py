"""Writing to DuckDB: the warehouse connection, atomic partition replacement, entity history."""
