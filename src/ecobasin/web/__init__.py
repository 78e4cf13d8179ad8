"""The web shell: the read API (FastAPI) and, later, the dashboard.

``create_app(db_path, region)`` builds the app; ``serve(db_path, host, port, region)`` runs it.
"""

from ecobasin.web.app import create_app
from ecobasin.web.server import serve

__all__ = ["create_app", "serve"]
