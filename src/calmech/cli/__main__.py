"""``python -m calmech.cli``."""

import sys

from calmech.cli import main

sys.exit(main())
