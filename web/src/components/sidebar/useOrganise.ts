// The sidebar's changes: folders made, renamed and deleted; threads moved, pinned, archived.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createFolder,
  deleteFolder,
  folderKeys,
  listFolders,
  placeThread,
  renameFolder,
} from "../../api/folders";
import { refetchFresh } from "../../api/refetch";
import { keys } from "../../api/threads";

export function useFolders() {
  return useQuery({ queryKey: folderKeys.folders, queryFn: listFolders });
}

export function useOrganise() {
  const queryClient = useQueryClient();
  const refreshThreads = () => refetchFresh(queryClient, keys.threadLists);
  const refreshFolders = async () => {
    await refetchFresh(queryClient, folderKeys.folders);
    await refreshThreads();
  };
  const place = useMutation({
    mutationFn: (change: {
      threadId: string;
      folder_id?: string | null;
      pinned?: boolean;
      archived?: boolean;
    }) => {
      const { threadId, ...body } = change;
      return placeThread(threadId, body);
    },
    onSuccess: async (thread) => {
      queryClient.setQueryData(keys.thread(thread.id), thread);
      await refreshThreads();
    },
  });
  const create = useMutation({ mutationFn: createFolder, onSuccess: refreshFolders });
  const rename = useMutation({
    mutationFn: ({ id, name }: { id: string; name: string }) => renameFolder(id, name),
    onSuccess: refreshFolders,
  });
  const remove = useMutation({ mutationFn: deleteFolder, onSuccess: refreshFolders });
  return { place, create, rename, remove };
}
