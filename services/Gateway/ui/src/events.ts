// The live event stream: one EventSource on /api/sse for the page. The browser reconnects by itself and sends
// Last-Event-ID, so nothing is missed; the page is told when the stream drops and when it is back.

export type Listener = (type: string, data: Record<string, unknown>) => void;

export type StreamState = "connecting" | "live" | "reconnecting" | "reconnected";

const types = ["bot.state", "portfolio.snapshot", "job.progress", "trade.opened", "trade.updated", "trade.closed", "system.notice"];

export class EventStream {
  private readonly listeners = new Set<Listener>();
  private dropped = false;

  constructor(private readonly onState: (state: StreamState) => void) {
    const source = new EventSource("/api/sse");
    for (const type of types) {
      source.addEventListener(type, (e) => {
        const data = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
        for (const listener of this.listeners) listener(type, data);
      });
    }
    source.onopen = () => this.onState(this.dropped ? "reconnected" : "live");
    source.onerror = () => {
      this.dropped = true;
      this.onState("reconnecting");
    };
    this.onState("connecting");
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
