"""merge_results.py — not implemented yet (see the project's issues)."""
import sys

if __name__ == "__main__":
    sys.exit("merge_results.py: not implemented yet")
