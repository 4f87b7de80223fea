"""Search for inspectors: queries over the full-text index, results grouped by household with
where the paper is."""
