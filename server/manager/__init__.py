"""The care manager's desk: the caseload with its risk flags, the review queue decided field
by field, visits due by caregiver and community, and the extra parts of the elder record."""
