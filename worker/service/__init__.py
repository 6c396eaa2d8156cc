"""`patch-worker serve`: the long-lived service, and `patch-worker submit`, its client.

api.py          the HTTP routes and JSON errors; auth.py the API-key check; guard.py the listener's limits
web/            the web page (GET /) and the routes it reads
upload.py       request body -> file on disk, size-limited, lines counted
batches.py      the Batch record, its states, and the `Batches` seam the routes use
backends.py     the registry: `service.queue`'s URL scheme -> backend package, and the `Backend` protocol
embedded/       one replica: SQLite index + a ledger file per batch (the default)
redis/          many replicas: batches, jobs and results in Redis (`service.queue: redis://...`)
server.py       composition, start-up checks, SIGTERM drain
client.py       `submit`: streamed upload, wait, summary
"""
