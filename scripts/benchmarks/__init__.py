"""One module per benchmark; see scripts/bench.py."""
