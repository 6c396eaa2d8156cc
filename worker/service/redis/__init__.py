"""The Redis backend (`service.queue: redis://...`): many replicas share batches, jobs and results in Redis.

batches.py      `RedisBatches` (the API over Redis; an upload's lines go to the job stream) and `open_backend`
stream_worker.py one replica's consumer: the pipeline fed by the job stream (`worker.sources.redis_stream`),
                recording results into Redis, renewing claims, dead-lettering
shared_rate.py  each lane's rate shared by every replica
keys.py         the key layout and the Lua scripts
"""

from worker.service.redis.batches import open_backend

__all__ = ["open_backend"]
