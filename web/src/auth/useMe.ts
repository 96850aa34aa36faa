import { useQuery } from "@tanstack/react-query";
import { fetchMe } from "../api/auth";
import { keys } from "../api/threads";

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: fetchMe, staleTime: 5 * 60_000, retry: false });
}
