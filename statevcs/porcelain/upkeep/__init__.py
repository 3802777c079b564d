"""Looking after a repository: gc, purge (erasure), retention (branch expiry, prune), stats and fsck."""
