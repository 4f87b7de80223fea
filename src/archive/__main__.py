"""`python -m archive` runs the command line (useful from a source tree)."""

from archive.cli import main

if __name__ == "__main__":
    main()
