"""`python -m worker` is `patch-worker`."""

import sys

from worker.cli import main

sys.exit(main())
