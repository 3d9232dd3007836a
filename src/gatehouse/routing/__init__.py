"""Choosing where a call goes: the route table and its strategies."""

from gatehouse.routing.table import Deployment, ModelRoute, build_routes

__all__ = ["Deployment", "ModelRoute", "build_routes"]
