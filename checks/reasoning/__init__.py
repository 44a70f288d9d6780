"""Pure reasoning over probe results: signatures, diagnosis, restore sources, report text."""
