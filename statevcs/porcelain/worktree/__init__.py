"""The working file: reading and writing it, its base commit (checkout), merge state waiting in it, and repositories created whole."""
