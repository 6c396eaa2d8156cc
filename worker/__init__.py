"""patch-worker.

structlog imports rich, when it is installed, for the tracebacks it can render on a terminal: about 35 ms
of CPU, a tenth of a run's start-up, and patch-worker never shows a traceback (an error is one line).
So structlog is imported here, before any module of the package, with rich hidden from it (structlog
then renders an exception, should one be logged, as plain text). rich itself is not touched: the progress
bar and the summary table import it when they draw on a terminal.
"""

import sys

if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` raises ImportError while set
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]
