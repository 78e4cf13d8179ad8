"""HTML to PDF, the platform's one engine (WeasyPrint).

Fonts are embedded (subset) in the PDF by WeasyPrint itself, so a report names its font family in
CSS ("Noto Sans CJK SC", installed from Debian's ``fonts-noto-cjk``) and the PDF reads the same on
a machine without it. Images (charts) are best given inline as ``data:`` URIs: WeasyPrint fetches
nothing else unless ``base_url`` points at local files.
"""

from __future__ import annotations

__all__ = ["html_to_pdf"]


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render ``html`` (a whole document) as PDF [bytes], fonts embedded.

    ``base_url`` resolves relative links (a local folder or file URL); None resolves nothing.
    """
    import weasyprint  # imported here: its Pango start-up is paid only by callers that render

    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()  # type: ignore[no-any-return]
