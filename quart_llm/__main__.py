"""`python -m quart_llm`: the command line (see `quart_llm.cli`)."""

import sys

from quart_llm.cli import main

sys.exit(main())
