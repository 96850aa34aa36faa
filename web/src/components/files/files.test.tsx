import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FileRef, StoredFile } from "../../api/files";
import { formatBytes, uploadFile } from "../../api/files";
import { ApiError } from "../../api/errors";
import { Composer } from "../chat/Composer";
import { MessageFiles } from "./MessageFiles";

function stored(name: string, id: string): StoredFile {
  return {
    id, name, content_type: "text/plain", size: 2048, kind: "text", sha256: "0".repeat(64),
    created_at: "2026-12-04T10:00:00Z", text_chars: 2048, lines: 3, pages: null,
  };
}

vi.mock("../../api/files", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api/files")>();
  return { ...actual, uploadFile: vi.fn() };
});

/** Uploads answered by `answer` (the nth upload, from 1); the names uploaded, in order. */
function stubUploads(answer: (file: File, n: number) => Promise<StoredFile>): string[] {
  const names: string[] = [];
  vi.mocked(uploadFile).mockImplementation((file: File) => {
    names.push(file.name);
    return answer(file, names.length);
  });
  return names;
}

const ok = async (file: File, n: number) => stored(file.name, `f${n}`);

/** fetch for downloads: every GET .../content answers some bytes. */
function stubDownloads() {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => new Response("bytes", { headers: { "Content-Disposition": 'attachment; filename="notes.txt"' } })),
  );
}

beforeEach(() => {
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => "blob:file", revokeObjectURL: () => {} }));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("Composer with files", () => {
  it("uploads picked files and sends their ids with the message", async () => {
    const uploads = stubUploads(ok);
    const onSend = vi.fn();
    render(<Composer onSend={onSend} running={false} files />);
    const input = screen.getByTestId("attach-input");
    await userEvent.upload(input, [
      new File(["a\nb\nc\n"], "notes.txt", { type: "text/plain" }),
      new File(["%PDF-1.4"], "report.pdf", { type: "application/pdf" }),
    ]);
    const chips = await screen.findAllByTestId("pending-file");
    expect(chips).toHaveLength(2);
    await waitFor(() => expect(chips[0]).toHaveTextContent("2.0 KB"));
    await waitFor(() => expect(chips[1]).toHaveTextContent("2.0 KB"));
    expect(uploads).toEqual(["notes.txt", "report.pdf"]);
    await userEvent.type(screen.getByLabelText("Message"), "how many lines does the file have{Enter}");
    expect(onSend).toHaveBeenCalledWith("how many lines does the file have", ["f1", "f2"]);
    expect(screen.queryAllByTestId("pending-file")).toHaveLength(0);
  });

  it("shows a refused upload and sends without it", async () => {
    stubUploads(async () => {
      throw new ApiError(415, "unsupported_file_type", "Confide takes text.");
    });
    const onSend = vi.fn();
    render(<Composer onSend={onSend} running={false} files />);
    await userEvent.upload(screen.getByTestId("attach-input"), new File(["MZ"], "tool.txt", { type: "text/plain" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Confide takes text.");
    await userEvent.click(screen.getByRole("button", { name: "Remove tool.txt" }));
    expect(screen.queryAllByTestId("pending-file")).toHaveLength(0);
    await userEvent.type(screen.getByLabelText("Message"), "hi{Enter}");
    expect(onSend).toHaveBeenCalledWith("hi");
  });

  it("takes files dropped on the message box", async () => {
    const uploads = stubUploads(ok);
    const onSend = vi.fn();
    const { container } = render(<Composer onSend={onSend} running={false} files />);
    const form = container.querySelector("form") as HTMLFormElement;
    const file = new File(["dropped"], "dropped.md", { type: "text/markdown" });
    fireEvent.drop(form, { dataTransfer: { files: [file], types: ["Files"] } });
    await waitFor(() => expect(uploads).toEqual(["dropped.md"]));
    await waitFor(() => expect(screen.getByTestId("pending-file")).toHaveTextContent("2.0 KB"));
    await userEvent.type(screen.getByLabelText("Message"), "summarise the file{Enter}");
    expect(onSend).toHaveBeenCalledWith("summarise the file", ["f1"]);
  });

  it("offers no attaching unless asked to", () => {
    render(<Composer onSend={vi.fn()} running={false} />);
    expect(screen.queryByRole("button", { name: "Attach files" })).toBeNull();
  });
});

describe("MessageFiles", () => {
  const files: FileRef[] = [
    { id: "f1", name: "notes.txt", content_type: "text/plain", size: 17, kind: "text", truncated: false, deleted: false },
    { id: "f2", name: "long.txt", content_type: "text/plain", size: 900_000, kind: "text", truncated: true, deleted: false },
    { id: "f3", name: "gone.pdf", content_type: "application/pdf", size: 4096, kind: "pdf", truncated: false, deleted: true },
  ];

  it("shows each file with a download, a cut or a deletion", async () => {
    stubDownloads();
    render(<MessageFiles files={files} />);
    const [notes, long, gone] = screen.getAllByTestId("message-file") as [HTMLElement, HTMLElement, HTMLElement];
    expect(notes).toHaveTextContent("notes.txt");
    expect(notes).toHaveTextContent("17 B");
    expect(long).toHaveTextContent("879 KB");
    expect(long).toHaveTextContent("(partly read)");
    expect(gone).toHaveTextContent("(deleted)");
    expect(within(gone).queryByRole("button")).toBeNull();
    await userEvent.click(within(notes).getByRole("button", { name: "Download notes.txt" }));
    await waitFor(() =>
      expect(vi.mocked(fetch).mock.calls.some(([r]) => new URL((r as Request).url).pathname === "/api/files/f1/content")).toBe(true),
    );
  });

  it("formats sizes for people", () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(10 * 1024 * 1024)]).toEqual([
      "0 B",
      "1023 B",
      "1.5 KB",
      "10 MB",
    ]);
  });
});
