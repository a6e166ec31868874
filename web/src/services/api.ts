// All HTTP goes through here: one typed client (generated from the server's OpenAPI document), a
// central busy counter and error message in the store, and per-channel sequencing so a response that
// arrives after a newer request on the same channel is dropped.
import createClient from "openapi-fetch";
import type { paths } from "../api/schema";
import type { Store } from "../state/store";

export class StaleResponse extends Error {
  constructor() {
    super("superseded by a newer request");
  }
}

export class ApiFailure extends Error {}

type Result<T> = { data?: T; error?: unknown; response: Response };

function message(error: unknown, response: Response): string {
  if (error && typeof error === "object" && "detail" in error) {
    const detail = (error as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => (d && typeof d === "object" && "msg" in d ? String(d.msg) : String(d))).join("; ");
  }
  return `${response.status} ${response.statusText || "request failed"}`;
}

export class ApiService {
  readonly client = createClient<paths>({ baseUrl: window.location.origin });
  private seq = new Map<string, number>();

  constructor(private store: Store) {}

  /**
   * Run one request with busy/error bookkeeping. With a `channel`, only the newest request of that
   * channel may deliver: older ones reject with StaleResponse.
   */
  async call<T>(run: () => Promise<Result<T>>, channel?: string): Promise<T> {
    const ticket = (this.seq.get(channel ?? "") ?? 0) + 1;
    if (channel) this.seq.set(channel, ticket);
    this.store.set({ busy: this.store.get().busy + 1 });
    try {
      let result: Result<T>;
      try {
        result = await run();
      } catch (err) {
        throw new ApiFailure(`cannot reach the server: ${String(err)}`);
      }
      if (channel && this.seq.get(channel) !== ticket) throw new StaleResponse();
      if (result.error !== undefined || !result.response.ok) {
        throw new ApiFailure(message(result.error, result.response));
      }
      return result.data as T;
    } finally {
      this.store.set({ busy: Math.max(0, this.store.get().busy - 1) });
    }
  }

  imageUrl(imageId: string): string {
    return `${window.location.origin}/api/images/${encodeURIComponent(imageId)}.png`;
  }

  /** Multipart upload through the typed client (the body is serialised as FormData). */
  upload(file: File) {
    const form = new FormData();
    form.append("file", file, file.name);
    return this.call(
      () => this.client.POST("/api/images", { body: { file: file.name }, bodySerializer: () => form }),
      "image",
    );
  }
}
