"""``python -m scenarios.cli``: the ``bureaunet`` command."""

import sys

from scenarios.cli import main

sys.exit(main())
