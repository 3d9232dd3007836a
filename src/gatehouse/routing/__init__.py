"""Choosing where a call goes, and what happens when an upstream fails."""

from gatehouse.routing.router import Router
from gatehouse.routing.table import Deployment, ModelRoute, build_routes

__all__ = ["Deployment", "ModelRoute", "Router", "build_routes"]
