"""Merging commits: merge bases (virtual bases for criss-cross histories), merge, revert and cherry-pick over the pure merge engine."""
