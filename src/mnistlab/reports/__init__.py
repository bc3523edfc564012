"""Self-contained HTML pages: the report of one run, the leaderboard of several, a sweep's page, a data set's
health. Jinja2
templates; charts as inline SVG, image grids as embedded PNG; nothing is fetched from a network when a page is
opened. ``html`` renders, ``pages`` decides what each page shows.

Examples
--------
>>> from mnistlab.reports import render  # doctest: +SKIP
"""

from mnistlab.reports.html import png_data_uri, render, svg_markup
from mnistlab.reports.pages import (
    MODEL_CARD,
    SIDE_CARD,
    check_page_path,
    health_page,
    leaderboard_page,
    model_card_text,
    run_page,
    side_evaluation_text,
    sweep_page,
)

__all__ = [
    "MODEL_CARD",
    "SIDE_CARD",
    "check_page_path",
    "health_page",
    "leaderboard_page",
    "model_card_text",
    "png_data_uri",
    "render",
    "run_page",
    "side_evaluation_text",
    "svg_markup",
    "sweep_page",
]
