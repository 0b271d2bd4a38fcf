"""The human-feedback picking page: `styledrop feedback pick POOL_DIR`."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
