"""An MCP tool result as the text the model reads and the thread stores."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import mcp_types


def result_text(content: list[Any], structured: Any) -> str:
    """Text blocks joined; images, audio and binary resources as references; the structured
    result as JSON when there is nothing else."""
    parts = [_block_text(block) for block in content]
    if not parts and structured is not None:
        return json.dumps(structured, ensure_ascii=False, default=str)
    return "\n".join(parts)


def _block_text(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
        kind = "image" if isinstance(block, mcp_types.ImageContent) else "audio"
        return f"[{kind}: {block.mime_type}, {_decoded_size(block.data)} bytes]"
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return text
        size = _decoded_size(getattr(resource, "blob", "") or "")
        mime = getattr(resource, "mime_type", None) or "application/octet-stream"
        return f"[resource: {resource.uri}, {mime}, {size} bytes]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link: {block.uri}]"
    return f"[{getattr(block, 'type', 'content')}]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)
