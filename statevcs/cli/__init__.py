"""The ``statevcs`` command line: a thin click layer over the Repository API."""
