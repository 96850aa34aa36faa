// The channels that tell the user about a run waiting on them (/api/me/channels): email and
// Slack, in the order tried (the next when one cannot deliver); the web app is always on.
import { api, unwrap, type Schemas } from "./client";

export type Channels = Schemas["ChannelsOut"];
export type ChannelsInput = Schemas["ChannelsIn"];
export type ChannelName = Channels["order"][number];

export const CHANNELS_KEY = ["channels"] as const;

export function getChannels(): Promise<Channels> {
  return unwrap(api.GET("/api/me/channels"));
}

export function updateChannels(body: ChannelsInput): Promise<Channels> {
  return unwrap(api.PUT("/api/me/channels", { body }));
}
