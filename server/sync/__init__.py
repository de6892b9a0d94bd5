"""Offline sync for the care app: what a tablet should hold (pull) and what it made offline
(push)."""
