"""Bridges between statevcs and agent frameworks (optional extras).

Each integration lives in its own subpackage and imports its framework lazily, so
``import statevcs`` never needs them: ``pip install "statevcs[langgraph]"``.
"""
