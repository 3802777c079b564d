"""What travels between repositories: planning and checked batches, remotes (fetch, push, pull, clone) and bundles."""
