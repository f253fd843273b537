"""`python -m mmkeras ...` runs the command line."""

import sys

from mmkeras.cli import main

if __name__ == "__main__":
    sys.exit(main())
