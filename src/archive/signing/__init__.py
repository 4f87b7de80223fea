"""Signed notices: the office seal and the approver's signature on the page, and a PAdES digital
signature in the PDF when a certificate is configured. Keys and seal images stay in the archive
home's protected folder (secure/, permissions 0700/0600) and never appear in logs."""
