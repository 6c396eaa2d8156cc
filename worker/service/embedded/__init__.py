"""The embedded backend (no `service.queue`): one replica, batches indexed in SQLite, lines and results in files.

batches.py  `EmbeddedBatches`: each batch is one `worker.compose.process` over its input file, with the
            results file as its ledger (so a batch resumes after a restart); `open_backend`
store.py    the SQLite index of batches
"""

from worker.service.embedded.batches import open_backend

__all__ = ["open_backend"]
