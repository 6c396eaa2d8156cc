"""Send: the aiohttp session, one PATCH per attempt, the retry policy and credentials."""
