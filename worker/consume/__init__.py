"""`patch-worker consume`: patch jobs read from a queue (Redis Streams, Azure Storage Queues) for as long as it runs.

command.py   the composition: credentials, the queue source by URL scheme, shared rate, sending stack, probes
consumer.py  the pipeline fed by a `worker.sources.queue.QueueSource`, every message settled exactly once,
             the delivery rules (release, dead-letter) in one place for every backend
health.py    /healthz, /readyz and /metrics for `--listen`
"""
