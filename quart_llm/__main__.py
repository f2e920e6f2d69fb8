"""`python -m quart_llm`: the command line (see `quart_llm.cli`), as `quart-llm` runs it."""

import sys

from quart_llm.cli import main

sys.exit(main(prog="python -m quart_llm"))
