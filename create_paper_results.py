"""create_paper_results.py — not implemented yet (see the project's issues)."""
import sys

if __name__ == "__main__":
    sys.exit("create_paper_results.py: not implemented yet")
