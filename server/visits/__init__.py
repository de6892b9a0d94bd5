"""Care plans, visit schedules, the visit log with vital signs, offline sync for tablets,
volunteers' updates, voice notes and telehealth consultations."""
