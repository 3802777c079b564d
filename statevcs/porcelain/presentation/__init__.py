"""Presenting diffs: the Diff value and its renderers (text, unified, markdown, stat, patch), and escaping for terminals and markdown."""
