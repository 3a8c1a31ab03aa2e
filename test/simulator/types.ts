/** The simulator's public types: its switches, its state and what its request log records. */
import type { IncomingHttpHeaders } from 'node:http';

import type { Twin24Simulator } from './simulator';

export type ErasureRoute = 'call.depersonalize' | 'call.deleteRecord' | 'candidate.depersonalize';
export type ApiRoute = 'login' | 'me' | ErasureRoute;
export type RouteName = ApiRoute | 'unknown';

export type InjectedFault = 500 | 502 | 503 | 504 | 'reset';
/** A one-off fault for `failNext`: any HTTP status, or `'reset'` (socket destroyed, no answer). */
export type ScriptedFault = number | 'reset';
export type LatencySetting = number | { min: number; max: number };
export type RetryAfterForm = 'seconds' | 'http-date' | 'none';

/**
 * `slidingWindow`: at most N in any trailing second. `tokenBucket`: refilled N/s, holding `burst`.
 * `fixedWindow`: N × `windowSeconds` per window of `windowSeconds`, windows counted from the first
 * request. `leakyBucket`: nginx's `limit_req` with `nodelay` (N/s, `burst` excess, 0 allowed).
 * `inFlight`: at most `maxInFlight` requests between arrival and answer, and no rate at all.
 */
export type RateLimitShape =
	'slidingWindow' | 'tokenBucket' | 'fixedWindow' | 'leakyBucket' | 'inFlight';
/**
 * Rate-limit headers on every answer the limit sees: IETF draft `RateLimit-Limit`/`-Remaining`/
 * `-Reset` with `RateLimit-Policy` (`ietf`), the draft's combined `RateLimit: limit=…, remaining=…,
 * reset=…` with `RateLimit-Policy` (`ietf-combined`), or `X-RateLimit-*` (`x`).
 */
export type RateLimitHeaderStyle = 'none' | 'ietf' | 'ietf-combined' | 'x';
/** The status a refusal carries: 429, or 503 as overloaded APIs and nginx's `limit_req` send. */
export type RefusalStatus = 429 | 503;
/** A refusal's body: a JSON `message`, nginx's HTML error page, plain text, or nothing. */
export type RefusalBody = 'json' | 'html' | 'text' | 'empty';

export interface RateLimitStep {
	/** From this long after the first request the limit saw. */
	afterMs: number;
	requestsPerSecond: number;
}

export interface RateLimitSetting {
	/** The rate; `inFlight` ignores it (give any positive number, e.g. the rate the cap allows). */
	requestsPerSecond: number;
	/** Form of the Retry-After header on a refusal; default 'seconds' ('none' for leakyBucket). */
	retryAfter?: RetryAfterForm;
	/**
	 * Retry-After says this many seconds (0 allowed), whatever the limit's real wait: an API that
	 * always answers "1", or an HTTP date so far ahead. Default: the real wait.
	 */
	retryAfterSeconds?: number;
	/** Default 'slidingWindow'. */
	shape?: RateLimitShape;
	/**
	 * tokenBucket: the most it admits at once; default one second's worth. leakyBucket: nginx's
	 * `burst=` (requests beyond the rate it lets through), default 0.
	 */
	burst?: number;
	/** fixedWindow: the window's length in seconds; default 1. */
	windowSeconds?: number;
	/** inFlight: requests admitted and not yet answered at most; default 4. */
	maxInFlight?: number;
	/** Limits that follow `requestsPerSecond` over time (a limit that rises or falls mid-run). */
	schedule?: RateLimitStep[];
	/** Default 'none'. */
	headers?: RateLimitHeaderStyle;
	/** Status of a refusal; default 429 (503 for leakyBucket, nginx's `limit_req_status`). */
	status?: RefusalStatus;
	/** Body of a refusal; default 'json' ('html' for leakyBucket). */
	body?: RefusalBody;
	/**
	 * Another client of the same account takes this many requests per second from the limit, from
	 * the first request the limit saw on; they are not in the request log.
	 */
	backgroundPerSecond?: number;
}

export interface FaultSetting {
	/** Probability (0..1) that an API request gets a fault. */
	rate: number;
	kinds: InjectedFault[];
	/** PRNG seed so runs are repeatable; default 24. */
	seed?: number;
}

/** Everything `configure()` can change at any time. */
export interface SimulatorSwitches {
	latencyMs: LatencySetting;
	rateLimit: RateLimitSetting | null;
	faults: FaultSetting | null;
	/** Unknown IDs are created on first use (calls with a recording), for benchmarks. */
	acceptAnyId: boolean;
	/** Lifetime of tokens issued by login; overrides the requested ttl. null = use the ttl. */
	tokenTtlSeconds: number | null;
	/** Cap on the ttl a login may ask for. */
	maxTokenTtlSeconds: number;
	logBodies: boolean;
	logHeaders: boolean;
}

export interface SimulatorOptions extends Partial<SimulatorSwitches> {
	/** Default 0 (a free port). */
	port?: number;
	/** Serve the `/__simulator/...` control endpoints (used by the CLI). Default false. */
	controlApi?: boolean;
	/** Called at the end of every reset(), e.g. to seed data again. */
	onReset?: (sim: Twin24Simulator) => void;
}

export interface CallState {
	depersonalized: boolean;
	hasRecord: boolean;
}

export interface CandidateState {
	depersonalized: boolean;
}

export type RecordedStatus = number | 'reset' | 'hung';

export interface RecordedRequest {
	seq: number;
	method: string;
	/** Raw request target, exactly as received. */
	url: string;
	/** `url` without the query string. */
	path: string;
	/** Raw query string without `?`, '' when none. */
	query: string;
	/** As Node gives them (lower-case keys); {} when `logHeaders` is false. */
	headers: IncomingHttpHeaders;
	/** Raw body; '' when empty or when `logBodies` is false. */
	body: string;
	/** Parsed JSON body; undefined when empty, not JSON, or `logBodies` is false. */
	json: unknown;
	route: RouteName;
	/** Decoded ID when an ID route matched and the encoding was valid. */
	id: string | undefined;
	/** Effective flag of an erasure that passed validation (absent in the body → false). */
	skipDeleteRecord: boolean | undefined;
	/** What the simulator answered; undefined while the request is still being handled. */
	status: RecordedStatus | undefined;
	startedAt: number;
	/** When the response finished or the connection closed (performance.now()). */
	finishedAt: number | undefined;
	/** The whole response was written before the connection closed. */
	completed: boolean;
	/** The request changed state: an erasure was carried out, whether or not its answer arrived. */
	applied: boolean;
}

export interface ErasureRecord {
	route: ErasureRoute;
	id: string;
	/** undefined for call.deleteRecord. */
	skipDeleteRecord: boolean | undefined;
}

export interface LoginCounts {
	/** Logins that issued a token. */
	ok: number;
	/** Logins refused with 400 or 401 (not those cut short by 429 or an injected fault). */
	failed: number;
}

export interface SimulatorStats {
	/** Logged requests (control requests excluded). */
	requests: number;
	byStatus: Record<string, number>;
	rateLimited: number;
	/** `failNext` and random faults. */
	faultsInjected: number;
	scriptedAnswers: number;
	resets: number;
	hung: number;
	inFlight: number;
	maxInFlight: number;
}

export interface SimulatorSnapshot {
	calls: Record<string, CallState>;
	candidates: Record<string, CandidateState>;
	logins: LoginCounts;
	loginCount: number;
	stats: SimulatorStats;
	erasures: ErasureRecord[];
	duplicateErasures: number;
	switches: SimulatorSwitches;
}

/** A scripted answer for `respondFor`; each is used `times` times (default 1), then the next one. */
export type ScriptedAnswer =
	| {
			kind?: 'status';
			status: number;
			/** Default: '' for status < 400, else a JSON `message`. */
			body?: string | Buffer;
			headers?: Record<string, string>;
			times?: number;
	  }
	/** Accept the request and never answer. */
	| { kind: 'hang'; times?: number }
	/** Wait, then answer `status` (no state change), or handle the request normally when no status. */
	| { kind: 'slowHeaders'; delayMs: number; status?: number; times?: number }
	/** Send headers, then stream body chunks until the client goes away. */
	| { kind: 'endlessBody'; status: number; times?: number }
	| { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string; times?: number }
	/**
	 * Carry the erasure out, then lose the answer: `reset` destroys the connection instead of
	 * answering; `late` answers 200 only after `delayMs` (longer than the client waits).
	 */
	| { kind: 'answerLost'; loss: 'reset' | 'late'; delayMs?: number; times?: number };

export interface AccessTokenOptions {
	/** Default true. */
	canErase?: boolean;
	/** Owner shown by /users/me; default a synthetic API-token user. */
	email?: string;
}

export interface PublicUser {
	id: string;
	email: string;
}

export interface SeedRequest {
	calls?: readonly string[];
	candidates?: readonly string[];
	hasRecord?: boolean;
}
