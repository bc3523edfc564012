"""Rendering: figures to inline SVG or PNG data URIs, and a template to one HTML file written atomically."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from urllib.parse import quote

from mnistlab.errors import ParameterError, WriteError
from mnistlab.fileio import atomic_write
from mnistlab.viz import house_style


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


def relative_url(path: str | Path) -> str:
    """A file path as a relative link that always stays a path: every character that means something in a URL
    (``:`` of a scheme such as ``javascript:``, ``#``, ``?``, ``%``, spaces) is percent-encoded.

    Examples
    --------
    >>> relative_url("runs/javascript:alert(1)/report.html")
    './runs/javascript%3Aalert%281%29/report.html'
    >>> relative_url("a #1?/report.html")
    './a%20%231%3F/report.html'
    """
    return "./" + quote(Path(path).as_posix().removeprefix("./"), safe="/")


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
    except WriteError:
        raise  # a full disk or a file-size limit: it says so itself
    except OSError as exc:
        raise ParameterError(f"{out}: cannot write the page there ({exc.strerror or exc})") from None
    return Path(out)
