"""mkdocs hook: the Sphinx roles of the docstrings (``:func:`load```), shown as plain code in the API pages.

The docstrings keep Sphinx's roles because ``help()``, IDEs and numpydoc read them; mkdocstrings renders
markdown, where a role would show as ``:func:`` before the name. ``~a.b.c`` (Sphinx: show only ``c``) is
honoured.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:func|class|mod|data|meth|attr|exc|obj):<code>(~?)([^<]*)</code>")


def plain(html: str) -> str:
    """Drop the role; with ``~``, keep only the last dotted part of the name.

    >>> plain("see :func:<code>load</code> and :data:<code>~a.b.NAMES</code>")
    'see <code>load</code> and <code>NAMES</code>'
    """
    return ROLE.sub(
        lambda m: f"<code>{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}</code>", html
    )


def on_page_content(html: str, page: Any, **_: Any) -> str:
    return plain(html)
