"""Scans: paper that comes back (signed notices, forms filled in by hand, certificates, old files)
is read, prepared, OCR'd, identified and filed into the household's file, without loss."""
