"""An MCP server that dies before it says anything."""

import sys

sys.exit(7)
