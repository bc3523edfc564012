"""Self-contained HTML pages: the report of one run and the leaderboard of several. Jinja2 templates; charts as
inline SVG, image grids as embedded PNG; nothing is fetched from a network when a page is opened.

>>> from mnistlab.reports import render  # doctest: +SKIP
"""

from mnistlab.reports.html import png_data_uri, render, svg_markup

__all__ = ["png_data_uri", "render", "svg_markup"]
