"""`python -m mcvrt` runs the command line."""

import sys

from mcvrt.cli import main

sys.exit(main())
