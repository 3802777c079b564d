"""An MCP (Model Context Protocol) server over one repository: agents version their own state.

``statevcs mcp`` serves the tools and resources of docs/mcp.md. Only ``server`` needs the
``mcp`` SDK (``pip install "statevcs[mcp]"``); the rest is plain Python over the Repository
API: ``specs`` (tool names, descriptions, input schemas, argument checks), ``tools`` (what
each tool does), ``pending`` (merges waiting for conflict resolution), ``shaping``
(response size limits), ``uris`` (resource addresses) and ``watching`` (branch watchers
behind change notifications).
"""
