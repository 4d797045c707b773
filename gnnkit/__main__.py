import sys

from gnnkit.cli import console_main

sys.exit(console_main())
