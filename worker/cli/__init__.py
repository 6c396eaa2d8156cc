"""The edge: parse flags, build Settings, configure logging, start the right command.

Exit codes (public contract): 0 every job succeeded; 1 some job failed or was rejected; 2 usage or
configuration error, or a systemic failure stopped the run (credentials refused, permission missing, Graph
unreachable: see `worker.send.systemic`); 130 interrupted (run again with the same input to finish).

One job per module: `parser` (the command line), `help_text` (what `--help` says around it),
`flag_settings` (flags and the Azure SDKs' variables over the settings), `commands` (one function per
command), `exit_codes`, and `dispatch` (`main`, the entry point of `patch-worker` and `python -m worker`).
"""
