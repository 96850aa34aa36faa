// MCP servers: their state for administrators (/api/admin/mcp), and each user's own
// credentials for the servers that need them (/api/me/connections).
import { api, unwrap, type Schemas } from "./client";

export type McpServer = Schemas["McpServerOut"];
export type McpTool = Schemas["McpToolOut"];
export type Connection = Schemas["ConnectionOut"];

export const mcpKeys = {
  servers: ["admin", "mcp"] as const,
  connections: ["connections"] as const,
};

type Page<T> = { items: T[]; next_cursor: string | null };

/** Every item of a list the agents file bounds, page by page. */
async function everyPage<T>(read: (cursor: string | null) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await read(cursor);
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

const pageQuery = (cursor: string | null) => ({
  params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
});

export function listMcpServers(): Promise<McpServer[]> {
  return everyPage((cursor) => unwrap(api.GET("/api/admin/mcp", pageQuery(cursor))));
}

export function listConnections(): Promise<Connection[]> {
  return everyPage((cursor) => unwrap(api.GET("/api/me/connections", pageQuery(cursor))));
}

const path = (serverId: string) => ({ params: { path: { server_id: serverId } } });

/** Store a token for the server (sealed; the server never sends it back). */
export async function connectWithToken(serverId: string, token: string): Promise<void> {
  await unwrap(api.PUT("/api/me/connections/{server_id}", { ...path(serverId), body: { token } }));
}

export async function disconnect(serverId: string): Promise<void> {
  await unwrap(api.DELETE("/api/me/connections/{server_id}", path(serverId)));
}

/** Where to send the browser to connect with OAuth (it comes back to /settings/connections). */
export async function startOAuth(serverId: string): Promise<string> {
  const started = await unwrap(api.POST("/api/me/connections/{server_id}/oauth", path(serverId)));
  return started.authorize_url;
}
