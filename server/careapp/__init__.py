"""The care app (`caregiver_app/`, a PWA) as the server sees it: where it is served, its
session look-up, and the rule set and texts exported to it at build time."""
