"""Distributed mode's Redis layout, and the Lua scripts that keep each step atomic.

    {prefix}:jobs             stream of jobs, one entry per input line: b (batch id), l (line number), d (the line)
                              consumer group "workers"; an entry is acked (and deleted) once its result is recorded
    {prefix}:dead             dead-letter stream: jobs delivered more than queue.max_deliveries times
    {prefix}:errors           hash entry id -> the last error seen for a job still pending
    {prefix}:seq              counter giving batches their order
    {prefix}:batches          sorted set batch id -> order (the list, newest first)
    {prefix}:batch:{id}       hash: state, name, created, updated, started, finished, input_bytes, total,
                              succeeded, failed, rejected, error
    {prefix}:results:{id}     list of result lines, in completion order
    {prefix}:done:{id}        bitmap of lines that have a result: a job delivered twice is recorded once
    {prefix}:rate:{lane}      the next free send slot of a lane, shared by every replica

Nothing is trimmed with MAXLEN: an entry leaves the stream only after its result is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "workers"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one prefix."""

    prefix: str

    @property
    def jobs(self) -> str:
        """The job stream."""
        return f"{self.prefix}:jobs"

    @property
    def dead(self) -> str:
        """The dead-letter stream."""
        return f"{self.prefix}:dead"

    @property
    def errors(self) -> str:
        """Last errors of pending jobs."""
        return f"{self.prefix}:errors"

    @property
    def seq(self) -> str:
        """The batch order counter."""
        return f"{self.prefix}:seq"

    @property
    def batches(self) -> str:
        """Every batch, by order."""
        return f"{self.prefix}:batches"

    def batch(self, batch_id: str) -> str:
        """A batch's status hash."""
        return f"{self.prefix}:batch:{batch_id}"

    def results(self, batch_id: str) -> str:
        """A batch's result lines."""
        return f"{self.prefix}:results:{batch_id}"

    def done(self, batch_id: str) -> str:
        """A batch's bitmap of recorded lines."""
        return f"{self.prefix}:done:{batch_id}"

    def rate(self, lane: str) -> str:
        """A lane's next free slot (shared rate)."""
        return f"{self.prefix}:rate:{lane}"


_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

#: Record one result exactly once, then ack and delete the job's entry (all or nothing).
#: KEYS: batch hash, done bitmap, results list, job stream, errors hash
#: ARGV: line, result line, status, group, entry id
#: Every line of a batch gets its result, cancelled or not (a cancelled batch's unsent jobs come as `failed`,
#: kind `cancelled`). The batch turns running at its first result and succeeded/failed at its last, unless it
#: was cancelled. Returns 1 when recorded, 0 when it was a duplicate (or its batch is gone).
RECORD = (
    _NOW
    + """
local state = redis.call('HGET', KEYS[1], 'state')
local recorded = 0
if state and redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 0 then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
  local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
  redis.call('HSET', KEYS[1], 'updated', now)
  if state == 'queued' then
    redis.call('HSET', KEYS[1], 'state', 'running', 'started', now)
  end
  local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '-1')
  if total >= 0 and done >= total and state ~= 'cancelled' then
    local bad = tonumber(redis.call('HGET', KEYS[1], 'failed') or '0')
      + tonumber(redis.call('HGET', KEYS[1], 'rejected') or '0')
    redis.call('HSET', KEYS[1], 'state', bad == 0 and 'succeeded' or 'failed', 'finished', now)
  end
  recorded = 1
end
redis.call('XACK', KEYS[4], ARGV[4], ARGV[5])
redis.call('XDEL', KEYS[4], ARGV[5])
redis.call('HDEL', KEYS[5], ARGV[5])
return recorded
"""
)

#: Cancel a batch unless it has finished. KEYS: batch hash. Returns 1 when cancelled, 0 when finished, -1 unknown.
CANCEL = (
    _NOW
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return -1 end
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'updated', now, 'finished', now)
return 1
"""
)

#: Delete a batch that finished before a moment: its hash, results and bitmap, and its place in the index.
#: KEYS: batch hash, results list, done bitmap, batches index. ARGV: the moment, the batch id.
#: Returns 1 when deleted, 0 when it is not final or finished later (or already gone from the hash).
PRUNE = """
local fields = redis.call('HMGET', KEYS[1], 'state', 'finished')
local state, finished = fields[1], tonumber(fields[2])
if not state then
  redis.call('ZREM', KEYS[4], ARGV[2])
  return 0
end
if (state ~= 'succeeded' and state ~= 'failed' and state ~= 'cancelled') or not finished
    or finished >= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[2])
return 1
"""

#: Reserve the next `slots` send slots of a lane shared by every replica (the pacer's algorithm, in Redis).
#: KEYS: the lane's rate key. ARGV: interval (1/rate, s), slots, burst. Returns the seconds to wait, as text.
RESERVE = (
    _NOW
    + """
local interval = tonumber(ARGV[1])
local slots = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(nxt, now - (burst - 1) * interval)
local after = slot + slots * interval
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX', math.ceil((after - now) * 1000) + 60000)
return string.format('%.6f', slot + (slots - 1) * interval - now)
"""
)
