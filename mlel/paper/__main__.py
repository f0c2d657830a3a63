"""``python -m mlel.paper``: the paper's tables and figures (see --help)."""
import sys

from mlel.paper.outputs import main

sys.exit(main())
