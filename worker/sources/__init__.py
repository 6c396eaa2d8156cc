"""Sources yield raw input lines lazily, with their 1-based line numbers; nothing holds a whole input."""
