"""Record: the final result of every job (results JSONL), logs, progress and the run summary."""
