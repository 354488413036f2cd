"""State machines of executions, activities and timers; one transaction per transition."""
