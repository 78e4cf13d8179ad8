"""The platform's documents: their templates (Jinja2, ``services/templates``) and HTML to PDF,
its one engine (WeasyPrint).

Fonts are embedded (subset) in the PDF by WeasyPrint itself, so a report names its font family in
CSS ("Noto Sans CJK SC", installed from Debian's ``fonts-noto-cjk``) and the PDF reads the same on
a machine without it. Images (charts) are best given inline as ``data:`` URIs: WeasyPrint fetches
nothing else unless ``base_url`` points at local files.
"""

from __future__ import annotations

import base64
import functools

import jinja2

__all__ = ["data_uri", "html_to_pdf", "templates"]

#: PDFs of self-contained documents kept rendered (~0.5 MB each with their CJK fonts): a report
#: asked for again (a download, the same draft) costs no second layout (~1 CPU-s)
_PDFS_KEPT = 8


@functools.cache
def templates() -> jinja2.Environment:
    """The documents' templates (bulletins, consultation papers, emergency reports), one
    environment per process: each template is compiled once, not at every render."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ecobasin", "services/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI for an ``<img src>``: nothing is fetched when the PDF renders,
    and a stored document needs nothing else to be read."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render ``html`` (a whole document) as PDF [bytes], fonts embedded.

    ``base_url`` resolves relative links (a local folder or file URL); None resolves nothing.
    Without it the PDF depends on ``html`` alone: the same document gives the same bytes, which
    are kept for the next call. With it the linked files may have changed: rendered each time.
    """
    if base_url is None:
        return _self_contained_pdf(html)
    return _render(html, base_url)


@functools.lru_cache(maxsize=_PDFS_KEPT)
def _self_contained_pdf(html: str) -> bytes:
    return _render(html, None)


def _render(html: str, base_url: str | None) -> bytes:
    import weasyprint  # imported here: its Pango start-up is paid only by callers that render

    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()  # type: ignore[no-any-return]
