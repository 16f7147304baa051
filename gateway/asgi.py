"""The edge for uvicorn worker processes (`ledger gateway --workers N`): each worker builds
its app from the environment, exactly as `ledger` itself does once at start-up."""

from __future__ import annotations

import os

from fastapi import FastAPI

from gateway.app import create_app
from settings import Settings


def app_from_environment() -> FastAPI:
    return create_app(Settings.from_env(os.environ))
