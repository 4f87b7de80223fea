"""Township social-assistance documents, scans, archive and search."""

__version__ = "0.1.0"
