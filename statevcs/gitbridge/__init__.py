"""Code review in git: export/import of statevcs histories (pygit2), and git merge/diff drivers for JSON state files."""
