"""Writing fetched rows to the warehouse: atomic window replacement with the load log, entity history."""
