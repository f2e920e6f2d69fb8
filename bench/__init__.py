"""The benchmark suite: `python -m bench` (or `./dev bench`); see `python -m bench --help`."""
