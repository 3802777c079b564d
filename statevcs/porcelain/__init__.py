"""Porcelain: the Repository API people and agents use, one subpackage per concern (docs/architecture.md)."""
