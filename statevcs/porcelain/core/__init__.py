"""The commit-and-ref core: RepositoryCore (HEAD, refs, commits in one transaction), revision syntax, log selection, update with retry, watch, and edit transactions."""
