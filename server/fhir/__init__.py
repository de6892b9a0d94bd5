"""FHIR R4 export for the province's health data (City Data, hospitals), by consent only."""
