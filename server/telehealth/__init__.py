"""Telehealth: consultations between the care team and clinicians, and voice notes."""
