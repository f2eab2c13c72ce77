"""`python -m app`: the `shiftroom` command, from whichever checkout is on `sys.path` first.

The same as the console script, without the module being imported twice (`python -m app.cli`
would run a second copy of `app.cli` as `__main__`, with its own `UsageError`).
"""

import sys

from app.cli import main

sys.exit(main())
