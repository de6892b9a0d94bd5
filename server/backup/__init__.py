"""`eldercare backup` / `eldercare restore`: encrypted, checksummed, verified database copies."""
