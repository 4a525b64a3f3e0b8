"""``python -m calmech``."""

import sys

from calmech.cli import main

sys.exit(main())
