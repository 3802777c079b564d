"""Chunked large containers (prolly trees): the node format, building, reading, editing, diffing, and the lazy views tree code reads them through."""
