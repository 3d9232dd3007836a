"""Telemetry: the recorder, metrics, tracing, cost and resource usage of every call."""
