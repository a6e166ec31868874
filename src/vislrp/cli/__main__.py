"""``python -m vislrp.cli``: the same command line as the ``vislrp`` script."""

import sys

from . import main

sys.exit(main())
