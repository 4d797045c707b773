import sys

from gnnkit.cli import main

sys.exit(main())
