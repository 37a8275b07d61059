"""``python3 -m trnx.sweep SPEC.yaml ...`` is ``trnx-sweep SPEC.yaml ...``."""
import sys

from .cli import main

if __name__ == "__main__":  # spawned workers re-import the main module
    sys.exit(main())
