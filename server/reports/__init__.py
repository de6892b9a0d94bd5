"""Reports: response times, care, programme and satisfaction figures; plots; CSV/xlsx/PDF."""
