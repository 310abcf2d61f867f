"""``python -m pconv``: the pconv command line (see pconv.cli)."""

import sys

from .cli import main

sys.exit(main())
