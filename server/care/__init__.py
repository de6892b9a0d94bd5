"""Care plans, visit schedules, the visit log with vital signs, notes and the care manager's
review queue. Its tables (models.py) are shared with telehealth/, volunteers/ and sync/."""
