"""Schedule: lanes per tenant and throttling scope, each with a pacer (rate), a throttle gate and an
adaptive concurrency limit."""
