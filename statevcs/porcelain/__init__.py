"""Porcelain: the Repository API people and agents use, and the working state file."""
