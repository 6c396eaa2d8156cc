"""`patch-worker serve`: the long-lived service, and `patch-worker submit`, its client.

api.py          the HTTP routes, API-key check and JSON errors
upload.py       request body -> file on disk, size-limited, lines counted
batches.py      the Batch record, its states, and the `Batches` seam the routes use
embedded.py     one replica: SQLite index (store.py) + a ledger per batch, run by `worker.compose.process`
distributed.py  many replicas: batches and results in Redis; consumer.py feeds the pipeline from a
                Redis Stream; shared_rate.py shares each lane's rate; redis_keys.py holds the layout
server.py       composition, start-up checks, SIGTERM drain
client.py       `submit`: streamed upload, wait, summary
"""
