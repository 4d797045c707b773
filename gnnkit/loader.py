"""Old home of the neighbour sampler, now ``gnnkit.sampling.neighbor``
(``gnnkit.loader`` was easy to confuse with ``gnnkit.datasets.loader``).
The names keep working from here."""
from gnnkit.sampling.neighbor import *  # noqa: F401,F403
from gnnkit.sampling.neighbor import __all__  # noqa: F401
