"""Full-text index (whoosh) over every document's text and metadata, rebuilt from the catalog."""
