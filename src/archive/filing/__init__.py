"""The archive: one file per household, boxed by village, collected monthly (DA/T 22-2015)."""
