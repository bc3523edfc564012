"""Self-contained HTML pages: the report of one run, the leaderboard of several, a sweep's page, a data set's
health. Jinja2
templates; charts as inline SVG, image grids as embedded PNG; nothing is fetched from a network when a page is
opened. ``html`` renders, ``pages`` decides what each page shows.

Examples
--------
>>> from mnistlab.reports import render  # doctest: +SKIP
"""

from mnistlab.reports.html import png_data_uri, render, svg_markup
from mnistlab.reports.pages import check_page_path, health_page, leaderboard_page, run_page, sweep_page

__all__ = [
    "check_page_path",
    "health_page",
    "leaderboard_page",
    "png_data_uri",
    "render",
    "run_page",
    "svg_markup",
    "sweep_page",
]
