"""Object model: canonical encoding, ids, nodes, commits, tags and Merkle trees of states."""
