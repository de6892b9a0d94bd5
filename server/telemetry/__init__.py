"""Counters, histograms and structured logs that any domain may feed.

It imports nothing from other server packages, so alerts, devices and the request layer can
use it without tying themselves to what reads the metrics (`server.metrics`).
"""
