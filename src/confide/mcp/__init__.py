"""MCP servers as tool sources (config.py, manager.py, tools.py) and each user's credentials
for the servers that want them (credentials.py, oauth.py, endpoints.py)."""
