"""Pure algorithms over JSON values and Merkle trees: diff, merge, history."""
