"""The one PDF engine: HTML to PDF through WeasyPrint (its system libraries, Pango and
HarfBuzz, and the CJK font ``fonts-noto-cjk`` come from ``.ci/run``)."""

from __future__ import annotations

__all__ = ["html_to_pdf"]


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render ``html`` to PDF bytes; ``base_url`` resolves relative links (images, styles)."""
    from weasyprint import HTML  # imported on use: it loads Pango at import

    pdf: bytes = HTML(string=html, base_url=base_url).write_pdf()
    return pdf
