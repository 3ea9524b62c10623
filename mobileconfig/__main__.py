"""``python -m mobileconfig`` runs the command line."""

import sys

from mobileconfig.cli import main

sys.exit(main())
