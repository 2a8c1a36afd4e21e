"""grex: Dutch municipal land development (grondexploitatie) under the BBV.

The conventions are written out in ``docs/`` of the repository (``docs/README.md``
indexes them); the core is :mod:`grex.core`, its plain-loop twin
:mod:`grex.reference`, files are read and written by :mod:`grex.io`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
