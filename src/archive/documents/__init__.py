"""Documents: templates rendered to PDF and DOCX, numbered and recorded in the catalog."""
