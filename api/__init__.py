"""The investigator service: a FastAPI app and a web page over one result directory.

``create_app(Settings(...))`` builds the app; ``linkage serve RESULT_DIR`` runs it
with uvicorn. It reads the result only through the public
:mod:`linkage.investigate` API.
"""

from api.config import Settings
from api.main import create_app

__all__ = ["Settings", "create_app"]
