"""`python -m bench`: run the scenarios, print the table, write it under bench/results/."""

from __future__ import annotations

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
