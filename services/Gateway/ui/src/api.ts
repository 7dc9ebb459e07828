// The public API, as the gateway serves it under /api. Every refusal is a ProblemDetails; ApiError keeps its field errors.

export interface Problem {
  title?: string;
  detail?: string;
  status?: number;
  errors?: Record<string, string[]>;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }

  /** One line for people: the detail, or every field's reasons. */
  get summary(): string {
    const fields = Object.entries(this.problem.errors ?? {}).map(([field, reasons]) => `${field}: ${reasons.join("; ")}`);
    return fields.length > 0 ? fields.join(" · ") : this.message;
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text.length > 0 ? JSON.parse(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, (json ?? {}) as Problem);
  return json as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => call<T>("POST", path, body ?? {});

export interface Job { id: number; status: string; progress: number; message: string | null }
export interface Bot {
  id: number; name: string; symbols: string[]; timeframe: string; strategy: string; strategy_version: number | null;
  knobs: Record<string, number | string>; status: string;
}
export interface BotDetails { bot: Bot; current_job: Job | null; open_trades: number }
export interface Account { bot_id: number | null; quote_currency: string; cash: number; equity: number; unrealized_pnl_quote: number; realized_pnl_quote: number }
export interface Knob {
  name: string; type: "integer" | "number" | "text" | "boolean"; default: number | null; min: number; max: number; required: boolean; scope: string;
  description: string; choices: string[] | null;
}
export interface Diagnostic { file: string; line: number; column: number; message: string }
/** A strategy of GET /strategies; a user file that does not compile has no version and says why in diagnostics. */
export interface Strategy { name: string; version: number | null; description: string | null; knobs: Knob[]; source: "built-in" | "user"; diagnostics: Diagnostic[] }
/** The strategies that can be chosen (every one but a user file that does not compile). */
export const usable = (strategies: Strategy[]) => strategies.filter((s) => s.version !== null);
/** Why each user file that does not compile cannot be chosen: "name: file(line,column): message". */
export const broken = (strategies: Strategy[]) => strategies.filter((s) => s.version === null)
  .map((s) => `${s.name}: ${s.diagnostics.map((d) => d.line > 0 ? `${d.file}(${d.line},${d.column}): ${d.message}` : `${d.file}: ${d.message}`).join("; ")}`);
export interface Snapshot { equity: number; cash: number; positions_value: number; timestamp: string }
export interface Trade {
  id: number; bot_id: number | null; symbol: string; side: string; amount: number; price: number; status: string; cost_basis_quote: number; fees_paid_quote: number;
  unrealized_pnl_quote: number; realized_pnl_quote: number; closed_at: string | null; created_at: string;
}
/** A kline as the market serves it: [open time ms, open, high, low, close, volume]. */
export type Kline = [number, number, number, number, number, number];
