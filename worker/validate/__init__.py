"""The boundary where raw input lines become Jobs or Rejected lines: parse, check envelope and path, validate.

A line is a bare body (a resource object, sent to `DEFAULT_PATH`) or an envelope
`{"jobId", "path", "tenant", "body"}` (an object with a "body" key). Nothing a line contains can make
`parse_line` raise: every problem becomes a `Rejected` with all the errors found, each located by a dotted
path from the top of the line. Messages never quote input values (a line may carry secrets).

One job per module: `parse` (a line to a Job or a Rejected), `envelope` (jobId, tenant, path and keys),
`duplicate_keys` (what orjson drops silently), `model_check` (a body against its route's model) and
`pydantic_errors` (pydantic's errors in Graph's words).
"""
