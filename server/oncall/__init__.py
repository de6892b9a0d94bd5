"""Who is on duty (teams, shifts, backups, overrides) and the escalation policies that call them."""
