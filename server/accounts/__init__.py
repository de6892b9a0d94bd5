"""Logging in and out, one's own account, and administrators' user management: the API
and the pages. Who people are and how they prove it (models, passwords, tokens) is
server/auth/, which the request layer (server/deps.py) builds on."""
