"""The request pipeline: the Exchange, the Stage protocol and the ordered stage list."""

from gatehouse.pipeline.exchange import Attempt, Exchange
from gatehouse.pipeline.pipeline import Gateway, Stage

__all__ = ["Attempt", "Exchange", "Gateway", "Stage"]
