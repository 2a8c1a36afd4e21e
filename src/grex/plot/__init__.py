"""Charts of grex in one house style (matplotlib).

The style reads in black and white: series differ by grey level, hatching
and line style, never by colour alone. Charts are drawn with matplotlib's
object interface (:class:`matplotlib.figure.Figure`), never through pyplot,
so they need no interactive backend and leave no global state behind; files
are written with the Agg (PNG) and PDF backends.
"""

from grex.plot.style import house_style, new_figure, to_png

__all__ = ["house_style", "new_figure", "to_png"]
