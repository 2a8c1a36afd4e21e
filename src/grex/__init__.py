"""grex: Dutch municipal land development (grondexploitatie) under the BBV.

The conventions are those of ``DOMAIN.md`` (shipped beside the project as
``shared/DOMAIN.md``); the core is :mod:`grex.core`, its plain-loop twin
:mod:`grex.reference`, files are read and written by :mod:`grex.io`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
