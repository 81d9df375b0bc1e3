"""Allow ``python -m adrec``."""

import sys

from adrec.cli.main import main

sys.exit(main())
