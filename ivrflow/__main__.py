"""`python -m ivrflow` is the `ivrflow` command."""

import sys

from .cli import main

sys.exit(main())
