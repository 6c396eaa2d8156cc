"""`python -m worker` is `patch-worker`.

The cycle collector is off while the CLI's modules load: they make ~50,000 objects that live as long as
the process, none of them garbage, and the collections the imports triggered cost ~0.04 s of CPU (a
tenth of an empty run, measured). `main` then freezes them: see `worker.cli.dispatch.main`.
"""

import gc
import sys

gc.disable()
from worker.cli.dispatch import main  # noqa: E402  (after the collector is off: that is the point)

gc.enable()
sys.exit(main())
