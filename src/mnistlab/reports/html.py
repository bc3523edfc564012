"""Rendering: figures to inline SVG or PNG data URIs, and a template to one HTML file written atomically."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from mnistlab.errors import ParameterError
from mnistlab.fileio import atomic_write
from mnistlab.viz.style import house_style


def svg_markup(display) -> str:
    """A Display drawn as an inline ``<svg>`` element (charts: sharp at any size, small)."""
    if display.figure_ is None:
        display.plot()
    buffer = io.StringIO()
    with house_style():
        display.figure_.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def png_data_uri(display, dpi: int = 90) -> str:
    """A Display drawn as a base64 PNG data URI (image grids: smaller than SVG with many raster images)."""
    if display.figure_ is None:
        display.plot()
    buffer = io.BytesIO()
    with house_style():
        display.figure_.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render(template: str, out: str | Path, **context) -> Path:
    """Render ``templates/<template>`` with ``context`` into the file ``out`` (atomically)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("mnistlab.reports", "templates"), autoescape=select_autoescape(["html"])
    )
    html = env.get_template(template).render(**context)
    try:
        with atomic_write(out) as tmp:
            tmp.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"{out}: cannot write the page there ({exc.strerror or exc})") from None
    return Path(out)
