"""Roster: the households and members the township assists, imported from the provincial export."""
