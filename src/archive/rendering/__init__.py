"""Rendering shared by every stage: the fonts (official names, files, fallbacks) and the QR code
that marks each page with its document ID. Documents draw with them, scans read the QR back,
filing stamps and catalogues print with the same fonts."""
