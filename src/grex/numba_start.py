"""numba's first load of the compiled kernel without importing ``scipy.linalg`` (issue 17).

The first call of a compiled function in a process loads numba's registries of
implementations, among them its array math (``numba.np.arraymath``), which
checks at import whether a BLAS is there for ``np.correlate`` and
``np.convolve`` (``_HAVE_BLAS = _check_blas()``). That check is
``numba.np.linalg.ensure_blas``, which imports ``scipy.linalg.cython_blas``
and with it the whole of ``scipy.linalg`` (its ``__init__`` imports every
decomposition and the array-API layer): about 0.2 s of a ``grex simulate``
process that holds the GIL while the other core waits, for an answer grex
never uses (its compiled code calls no BLAS: no ``np.dot``, ``np.linalg``,
``np.correlate`` or ``np.convolve`` in :mod:`grex.kernel`).

:func:`defer_blas_check` puts a one-shot import hook in front of
``numba.np.linalg``: once that module has run (where and when numba imports
it, nothing else moved), its ``ensure_blas`` is replaced by a check that
gives the same answer without the import, once: it looks for the
``scipy.linalg.cython_blas`` extension module where the import would find it
(:class:`importlib.machinery.PathFinder`, scipy itself is not imported again
if loaded) and runs numba's own check of the LAPACK integer width
(``_check_lapack_int_width``, which reads ``scipy.__config__`` only), then
gives ``ensure_blas`` back to numba. So ``_HAVE_BLAS`` is what it would have
been, and everything after is numba's own code: compiling an ``np.dot``
later calls the real ``ensure_blas``, and numba fetches the BLAS functions by
importing ``scipy.linalg.cython_blas`` itself. ``scipy.linalg`` is untouched
and imports as before whenever anything asks for it. Where numba's linear
algebra is already loaded (a process that compiled something first), or
its ``ensure_blas`` is not what this expects, nothing is changed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["defer_blas_check"]

_LINALG = "numba.np.linalg"


def defer_blas_check() -> bool:
    """Install the one-shot hook of this module; False (nothing done) where numba's linear algebra is loaded."""
    if _LINALG in sys.modules or any(isinstance(finder, _LinalgFinder) for finder in sys.meta_path):
        return False
    sys.meta_path.insert(0, _LinalgFinder())
    return True


def cython_blas_found() -> bool:
    """Whether ``import scipy.linalg.cython_blas`` would find the module, without importing ``scipy.linalg``."""
    try:
        scipy = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):
        return False
    if scipy is None or not scipy.submodule_search_locations:
        return False
    linalg = importlib.machinery.PathFinder.find_spec("scipy.linalg", list(scipy.submodule_search_locations))
    if linalg is None or not linalg.submodule_search_locations:
        return False
    blas = importlib.machinery.PathFinder.find_spec("scipy.linalg.cython_blas", list(linalg.submodule_search_locations))
    return blas is not None


class _LinalgFinder(importlib.abc.MetaPathFinder):
    """Finds ``numba.np.linalg`` as the import system would, with a loader that patches it once it has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != _LINALG:
            return None
        if self in sys.meta_path:  # one shot
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _LinalgLoader(spec.loader)
        return spec


class _LinalgLoader(importlib.abc.Loader):
    """numba's own loader of ``numba.np.linalg``; after the module has run, its ``ensure_blas`` is deferred."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # the module as the import system would have made it: its own loader, not this wrapper
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _defer(module)


def _defer(linalg: Any) -> None:
    """Replace ``linalg.ensure_blas`` by the same check without the import, for its first call only."""
    original = getattr(linalg, "ensure_blas", None)
    width = getattr(linalg, "_check_lapack_int_width", None)
    if not callable(original) or getattr(original, "__module__", None) != _LINALG:
        return

    def ensure_blas() -> None:
        linalg.ensure_blas = original  # once: every later call is numba's own
        if "scipy.linalg" in sys.modules:  # nothing to spare
            original()
            return
        if not cython_blas_found():
            raise ImportError("scipy 0.16+ is required for linear algebra")
        if callable(width):
            width()

    linalg.ensure_blas = ensure_blas
