"""elex.py — not implemented yet (see the project's issues)."""
import sys

if __name__ == "__main__":
    sys.exit("elex.py: not implemented yet")
