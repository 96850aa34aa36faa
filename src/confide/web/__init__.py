"""The web app: the built React app (web/ -> dist/) served beside the API."""

from confide.web.serving import WEB_CSP, install_web_app

__all__ = ["WEB_CSP", "install_web_app"]
