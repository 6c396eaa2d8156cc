"""Schedule: per-tenant lanes, each with a pacer (rate), a throttle gate and an adaptive concurrency limit."""
