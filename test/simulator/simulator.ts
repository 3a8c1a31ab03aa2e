/**
 * Twin24 simulator: a real HTTP server on 127.0.0.1 that answers like the Twin24 CIS and IAM APIs
 * described in /work/shared/twin24-api.md, with switches for the trouble a real API causes
 * (latency, rate limits, faults, scripted answers) and a request log that tests assert on.
 *
 * Order in which a request is handled (each step may answer and stop):
 *  1. control path (`/__simulator/...`, only with `controlApi: true`): not logged, not limited
 *  2. no matching route → 404 "No route" (no rate limit, latency or faults, so it is deterministic)
 *  3. body over 1 MiB → 413
 *  4. rate limit → 429 (answered at once, without latency)
 *  5. latency
 *  6. `failNext` faults, then random `faults`
 *  7. login (no token needed)
 *  8. token → 401 / 403
 *  9. ID with malformed percent-encoding → 400
 * 10. `respondFor(id)` scripted answer
 * 11. body validation → 400
 * 12. state: 404 (unknown / already done) or 200, the only answer that changes state
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES } from 'node:http';
import type {
	IncomingHttpHeaders,
	IncomingMessage,
	OutgoingHttpHeaders,
	Server,
	ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

// ---------------------------------------------------------------------------------------------
// Public constants
// ---------------------------------------------------------------------------------------------

export const CIS_BASE_PATH = '/cis/api/v1';
export const IAM_BASE_PATH = '/iam/api/v1';
export const CONTROL_BASE_PATH = '/__simulator';

/** Demo identity. The password and tokens contain `SECRET` so secret scans can look for them. */
export const DEMO_EMAIL = 'demo@twin24-simulator.test';
export const DEMO_PASSWORD = 'twin24-sim-SECRET-password-91c4e7';
export const DEMO_ACCESS_TOKEN = 'twin24-sim-SECRET-access-token-3f8a5d02b7e64c19';
/** A static token without erase permission: CIS erasures answer 403 with it. */
export const DEMO_READONLY_ACCESS_TOKEN = 'twin24-sim-SECRET-readonly-token-7d21e9a4c0b35f68';
export const DEMO_CALL_IDS: readonly string[] = [
	'3f2b8c1e-6d4a-4e8b-9c71-0a5d2e7f4b19',
	'8a61d0f4-2c3b-47e5-b9d8-5e1f6a0c3d72',
	'c47e9a25-81f6-4d3c-a0b2-9f8e7d6c5b41',
];
export const DEMO_CANDIDATE_IDS: readonly string[] = [
	'candidate-1001',
	'candidate-1002',
	'candidate-1003',
];

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type ErasureRoute = 'call.depersonalize' | 'call.deleteRecord' | 'candidate.depersonalize';
export type ApiRoute = 'login' | 'me' | ErasureRoute;
export type RouteName = ApiRoute | 'unknown';

export type InjectedFault = 500 | 502 | 503 | 504 | 'reset';
/** A one-off fault for `failNext`: any HTTP status, or `'reset'` (socket destroyed, no answer). */
export type ScriptedFault = number | 'reset';
export type LatencySetting = number | { min: number; max: number };
export type RetryAfterForm = 'seconds' | 'http-date' | 'none';

export interface RateLimitSetting {
	requestsPerSecond: number;
	/** Form of the Retry-After header on 429; default 'seconds'. */
	retryAfter?: RetryAfterForm;
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

// ---------------------------------------------------------------------------------------------
// Internal constants and small helpers
// ---------------------------------------------------------------------------------------------

const LOOPBACK = '127.0.0.1';
const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_LOGIN_TTL_SECONDS = 3600;
const DEFAULT_FAULT_SEED = 24;
const ENDLESS_CHUNK = 'x'.repeat(16 * 1024);
const ENDLESS_CHUNK_INTERVAL_MS = 5;
const STATIC_TOKEN_EMAIL = 'api-token@twin24-simulator.test';
const UNAUTHORIZED_HEADERS: OutgoingHttpHeaders = { 'www-authenticate': 'Bearer' };
const FORBIDDEN_MESSAGE = 'Forbidden: token lacks permission to erase data';
const ERASURE_ROUTES: ReadonlySet<RouteName> = new Set<RouteName>([
	'call.depersonalize',
	'call.deleteRecord',
	'candidate.depersonalize',
]);
const API_ROUTES: ReadonlySet<string> = new Set<string>(['login', 'me', ...ERASURE_ROUTES]);
const INJECTABLE_FAULTS: ReadonlySet<unknown> = new Set<unknown>([500, 502, 503, 504, 'reset']);
const RETRY_AFTER_FORMS: ReadonlySet<unknown> = new Set<unknown>(['seconds', 'http-date', 'none']);
const REDIRECT_STATUSES: ReadonlySet<unknown> = new Set<unknown>([301, 302, 303, 307, 308]);

const DEFAULT_SWITCHES: SimulatorSwitches = {
	latencyMs: 0,
	rateLimit: null,
	faults: null,
	acceptAnyId: false,
	tokenTtlSeconds: null,
	maxTokenTtlSeconds: 86400,
	logBodies: true,
	logHeaders: true,
};

export const SWITCH_NAMES: readonly (keyof SimulatorSwitches)[] = [
	'latencyMs',
	'rateLimit',
	'faults',
	'acceptAnyId',
	'tokenTtlSeconds',
	'maxTokenTtlSeconds',
	'logBodies',
	'logHeaders',
];

function isRecord(value: unknown): value is Record<string, unknown> {
	return (
		typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)
	);
}

function isErasureRoute(route: RouteName): route is ErasureRoute {
	return ERASURE_ROUTES.has(route);
}

function errorMessage(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function emptyStats(): SimulatorStats {
	return {
		requests: 0,
		byStatus: {},
		rateLimited: 0,
		faultsInjected: 0,
		scriptedAnswers: 0,
		resets: 0,
		hung: 0,
		inFlight: 0,
		maxInFlight: 0,
	};
}

/** mulberry32: a tiny seeded PRNG, so fault sequences repeat for a given seed. */
function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let mixed = state;
		mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
		mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
		return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
	};
}

function pickLatencyMs(setting: LatencySetting): number {
	if (typeof setting === 'number') return setting;
	return setting.min + Math.random() * (setting.max - setting.min);
}

function retryAfterValue(form: RetryAfterForm, waitMs: number): string | undefined {
	if (form === 'none') return undefined;
	if (form === 'seconds') return String(Math.max(1, Math.ceil(waitMs / 1000)));
	// HTTP dates have one-second resolution: round up so a client that honours it is never early.
	return new Date(Math.ceil((Date.now() + waitMs) / 1000) * 1000).toUTCString();
}

/** Body of an injected or scripted status without a body: proxies answer 502/504 with HTML. */
function cannedBody(status: number): { body: string; headers: OutgoingHttpHeaders } {
	const reason = STATUS_CODES[status] ?? 'Error';
	if (status === 502 || status === 504) {
		const html = `<html><head><title>${status} ${reason}</title></head><body><center><h1>${status} ${reason}</h1></center><hr><center>nginx</center></body></html>`;
		return { body: html, headers: { 'content-type': 'text/html' } };
	}
	if (status < 400) return { body: '', headers: {} };
	return { body: JSON.stringify({ message: reason }), headers: { 'content-type': JSON_TYPE } };
}

function guessContentType(body: string | Buffer): string {
	if (Buffer.isBuffer(body)) return 'application/octet-stream';
	try {
		JSON.parse(body);
		return JSON_TYPE;
	} catch {
		return 'text/plain; charset=utf-8';
	}
}

function lowerCaseKeys(headers: Record<string, string>): OutgoingHttpHeaders {
	const result: OutgoingHttpHeaders = {};
	for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
	return result;
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

interface RouteMatch {
	route: RouteName;
	id: string | undefined;
	idMalformed: boolean;
}

interface IdRoute {
	route: ErasureRoute;
	method: string;
	prefix: string;
	suffix: string;
}

const NO_ROUTE: RouteMatch = { route: 'unknown', id: undefined, idMalformed: false };
const LOGIN_PATH = `${IAM_BASE_PATH}/auth/login`;
const ME_PATH = `${IAM_BASE_PATH}/users/me`;
const ID_ROUTES: readonly IdRoute[] = [
	{
		route: 'call.depersonalize',
		method: 'POST',
		prefix: `${CIS_BASE_PATH}/calls/`,
		suffix: '/depersonalization',
	},
	{
		route: 'call.deleteRecord',
		method: 'DELETE',
		prefix: `${CIS_BASE_PATH}/calls/`,
		suffix: '/record',
	},
	{
		route: 'candidate.depersonalize',
		method: 'POST',
		prefix: `${CIS_BASE_PATH}/telephony/autoCallCandidate/`,
		suffix: '/depersonalization',
	},
];

function splitUrl(url: string): { path: string; query: string } {
	const mark = url.indexOf('?');
	return mark === -1
		? { path: url, query: '' }
		: { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

/** Matches method + raw path. No normalisation: an ID is exactly one raw segment. */
function matchRoute(method: string, path: string): RouteMatch {
	if (path === LOGIN_PATH) return method === 'POST' ? { ...NO_ROUTE, route: 'login' } : NO_ROUTE;
	if (path === ME_PATH) return method === 'GET' ? { ...NO_ROUTE, route: 'me' } : NO_ROUTE;
	for (const candidate of ID_ROUTES) {
		const rawId = rawIdSegment(candidate, method, path);
		if (rawId !== undefined) return decodeIdSegment(candidate.route, rawId);
	}
	return NO_ROUTE;
}

function rawIdSegment(route: IdRoute, method: string, path: string): string | undefined {
	if (method !== route.method || path.length <= route.prefix.length + route.suffix.length)
		return undefined;
	if (!path.startsWith(route.prefix) || !path.endsWith(route.suffix)) return undefined;
	const rawId = path.slice(route.prefix.length, path.length - route.suffix.length);
	return rawId.includes('/') ? undefined : rawId;
}

function decodeIdSegment(route: ErasureRoute, rawId: string): RouteMatch {
	let id: string;
	try {
		id = decodeURIComponent(rawId);
	} catch {
		return { route, id: undefined, idMalformed: true };
	}
	// A real server or proxy resolves dot segments, so they never name an item on this route.
	if (id === '.' || id === '..') return NO_ROUTE;
	return { route, id, idMalformed: false };
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

interface ReceivedBody {
	kind: 'empty' | 'json' | 'invalid' | 'tooLarge';
	text: string;
	json: unknown;
}

function classifyBody(text: string): ReceivedBody {
	if (text.trim() === '') return { kind: 'empty', text, json: undefined };
	try {
		return { kind: 'json', text, json: JSON.parse(text) as unknown };
	} catch {
		return { kind: 'invalid', text, json: undefined };
	}
}

function readBody(req: IncomingMessage): Promise<ReceivedBody> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size <= MAX_BODY_BYTES) chunks.push(chunk);
		});
		req.once('end', () => {
			if (size > MAX_BODY_BYTES) resolve({ kind: 'tooLarge', text: '', json: undefined });
			else resolve(classifyBody(chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8')));
		});
		req.once('error', reject);
	});
}

type Checked<T> = ({ ok: true } & T) | { ok: false; message: string };

function readErasureBody(body: ReceivedBody): Checked<{ skipDeleteRecord: boolean }> {
	if (body.kind === 'empty') return { ok: true, skipDeleteRecord: false };
	if (body.kind !== 'json') return { ok: false, message: 'Body must be valid JSON' };
	if (!isRecord(body.json)) return { ok: false, message: 'Body must be a JSON object' };
	const flag = body.json.skipDeleteRecord;
	if (flag === undefined) return { ok: true, skipDeleteRecord: false };
	if (typeof flag !== 'boolean')
		return { ok: false, message: 'skipDeleteRecord must be a boolean' };
	return { ok: true, skipDeleteRecord: flag };
}

function readLoginBody(
	body: ReceivedBody,
): Checked<{ email: string; password: string; ttl: number | undefined }> {
	if (body.kind !== 'json') return { ok: false, message: 'Body must be valid JSON' };
	if (!isRecord(body.json)) return { ok: false, message: 'Body must be a JSON object' };
	const { email, password, ttl } = body.json;
	if (
		typeof email !== 'string' ||
		email === '' ||
		typeof password !== 'string' ||
		password === ''
	) {
		return { ok: false, message: 'email and password are required' };
	}
	if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)) {
		return { ok: false, message: 'ttl must be a positive number of seconds' };
	}
	return { ok: true, email, password, ttl };
}

// ---------------------------------------------------------------------------------------------
// Validation of switches and scripted answers (typed callers and the JSON control API alike)
// ---------------------------------------------------------------------------------------------

function requireNumber(
	value: unknown,
	name: string,
	min: number,
	max = Number.POSITIVE_INFINITY,
): number {
	if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
		throw new RangeError(`${name} must be a number from ${min} to ${max}`);
	}
	return value;
}

function requirePositive(value: unknown, name: string): number {
	if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
		throw new RangeError(`${name} must be a positive number`);
	}
	return value;
}

function requireBoolean(value: unknown, name: string): boolean {
	if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
	return value;
}

function requireStatus(value: unknown, name: string): number {
	const status = requireNumber(value, name, 100, 599);
	if (!Number.isInteger(status)) throw new RangeError(`${name} must be an integer HTTP status`);
	return status;
}

function requireTimes(value: unknown): number {
	if (value === undefined) return 1;
	const times = requireNumber(value, 'times', 1);
	if (!Number.isInteger(times) && Number.isFinite(times))
		throw new RangeError('times must be an integer');
	return times;
}

function readLatency(value: unknown): LatencySetting {
	if (typeof value === 'number') return requireNumber(value, 'latencyMs', 0, 600_000);
	if (!isRecord(value)) throw new TypeError('latencyMs must be a number or { min, max }');
	const min = requireNumber(value.min, 'latencyMs.min', 0, 600_000);
	return { min, max: requireNumber(value.max, 'latencyMs.max', min, 600_000) };
}

function readRateLimit(value: unknown): RateLimitSetting | null {
	if (value === null) return null;
	if (!isRecord(value))
		throw new TypeError('rateLimit must be null or { requestsPerSecond, retryAfter? }');
	const requestsPerSecond = requirePositive(value.requestsPerSecond, 'rateLimit.requestsPerSecond');
	if (value.retryAfter !== undefined && !RETRY_AFTER_FORMS.has(value.retryAfter)) {
		throw new TypeError("rateLimit.retryAfter must be 'seconds', 'http-date' or 'none'");
	}
	const retryAfter = value.retryAfter as RetryAfterForm | undefined;
	return { requestsPerSecond, retryAfter };
}

function readFaults(value: unknown): FaultSetting | null {
	if (value === null) return null;
	if (!isRecord(value)) throw new TypeError('faults must be null or { rate, kinds, seed? }');
	const rate = requireNumber(value.rate, 'faults.rate', 0, 1);
	const kinds = value.kinds;
	if (
		!Array.isArray(kinds) ||
		kinds.length === 0 ||
		!kinds.every((kind) => INJECTABLE_FAULTS.has(kind))
	) {
		throw new TypeError("faults.kinds must be a non-empty array of 500, 502, 503, 504 or 'reset'");
	}
	const seed =
		value.seed === undefined ? undefined : requireNumber(value.seed, 'faults.seed', -(2 ** 53));
	return { rate, kinds: [...(kinds as InjectedFault[])], seed };
}

function readTokenTtl(value: unknown): number | null {
	return value === null ? null : requireNumber(value, 'tokenTtlSeconds', 0, 10 * 365 * 86400);
}

/** Validates the known switches in `input`; keys whose value is undefined are left out. */
export function readSwitches(input: unknown): Partial<SimulatorSwitches> {
	if (!isRecord(input)) throw new TypeError('switches must be an object');
	const result: Partial<SimulatorSwitches> = {};
	if (input.latencyMs !== undefined) result.latencyMs = readLatency(input.latencyMs);
	if (input.rateLimit !== undefined) result.rateLimit = readRateLimit(input.rateLimit);
	if (input.faults !== undefined) result.faults = readFaults(input.faults);
	if (input.acceptAnyId !== undefined)
		result.acceptAnyId = requireBoolean(input.acceptAnyId, 'acceptAnyId');
	if (input.tokenTtlSeconds !== undefined)
		result.tokenTtlSeconds = readTokenTtl(input.tokenTtlSeconds);
	if (input.maxTokenTtlSeconds !== undefined) {
		result.maxTokenTtlSeconds = requirePositive(input.maxTokenTtlSeconds, 'maxTokenTtlSeconds');
	}
	if (input.logBodies !== undefined)
		result.logBodies = requireBoolean(input.logBodies, 'logBodies');
	if (input.logHeaders !== undefined)
		result.logHeaders = requireBoolean(input.logHeaders, 'logHeaders');
	return result;
}

function readScriptedFault(value: unknown): ScriptedFault {
	return value === 'reset' ? 'reset' : requireStatus(value, 'fault');
}

function readStatusAnswer(input: Record<string, unknown>): ScriptedAnswer {
	const { body, headers } = input;
	if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
		throw new TypeError('body must be a string or Buffer');
	}
	if (
		headers !== undefined &&
		(!isRecord(headers) || !Object.values(headers).every((v) => typeof v === 'string'))
	) {
		throw new TypeError('headers must be an object of strings');
	}
	return {
		kind: 'status',
		status: requireStatus(input.status, 'status'),
		body,
		headers: headers as Record<string, string> | undefined,
		times: requireTimes(input.times),
	};
}

/** Validates a scripted answer; `times` comes back filled in. */
export function readScriptedAnswer(input: unknown): ScriptedAnswer {
	if (!isRecord(input)) throw new TypeError('a scripted answer must be an object');
	const times = requireTimes(input.times);
	switch (input.kind) {
		case undefined:
		case 'status':
			return readStatusAnswer(input);
		case 'hang':
			return { kind: 'hang', times };
		case 'slowHeaders': {
			const status = input.status === undefined ? undefined : requireStatus(input.status, 'status');
			return {
				kind: 'slowHeaders',
				delayMs: requireNumber(input.delayMs, 'delayMs', 0, 600_000),
				status,
				times,
			};
		}
		case 'endlessBody':
			return { kind: 'endlessBody', status: requireStatus(input.status, 'status'), times };
		case 'redirect':
			return readRedirectAnswer(input, times);
		case 'answerLost': {
			if (input.loss !== 'reset' && input.loss !== 'late')
				throw new TypeError("loss must be 'reset' or 'late'");
			const delayMs =
				input.delayMs === undefined
					? undefined
					: requireNumber(input.delayMs, 'delayMs', 0, 600_000);
			return { kind: 'answerLost', loss: input.loss, delayMs, times };
		}
		default:
			throw new TypeError(`unknown scripted answer kind ${String(input.kind)}`);
	}
}

function readRedirectAnswer(input: Record<string, unknown>, times: number): ScriptedAnswer {
	if (!REDIRECT_STATUSES.has(input.status))
		throw new RangeError('redirect status must be 301, 302, 303, 307 or 308');
	if (typeof input.location !== 'string' || input.location === '')
		throw new TypeError('location must be a string');
	const status = input.status as 301 | 302 | 303 | 307 | 308;
	return { kind: 'redirect', status, location: input.location, times };
}

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

/**
 * At most `limit` requests in any trailing second: the usual meaning of "N requests per
 * second". A ring of the last `limit` admission times; the oldest decides.
 */
class SlidingWindowLimit {
	private readonly admittedAt: Float64Array;
	private next = 0;

	constructor(limit: number) {
		this.admittedAt = new Float64Array(Math.max(1, Math.ceil(limit))).fill(
			Number.NEGATIVE_INFINITY,
		);
	}

	/** Admits one request: returns 0 when admitted, else the milliseconds until one would be. */
	take(): number {
		const now = performance.now();
		const oldest = this.admittedAt[this.next];
		if (now - oldest < 1000) return oldest + 1000 - now;
		this.admittedAt[this.next] = now;
		this.next = (this.next + 1) % this.admittedAt.length;
		return 0;
	}
}

function createLimit(setting: RateLimitSetting | null): SlidingWindowLimit | undefined {
	return setting === null ? undefined : new SlidingWindowLimit(setting.requestsPerSecond);
}

class FaultDice {
	private readonly random: () => number;

	constructor(private readonly setting: FaultSetting) {
		this.random = seededRandom(setting.seed ?? DEFAULT_FAULT_SEED);
	}

	roll(): InjectedFault | undefined {
		if (this.random() >= this.setting.rate) return undefined;
		return this.setting.kinds[Math.floor(this.random() * this.setting.kinds.length)];
	}
}

interface PendingFailure {
	remaining: number;
	fault: ScriptedFault;
	route: ApiRoute | undefined;
	headers: OutgoingHttpHeaders;
}

interface PendingAnswer {
	remaining: number;
	answer: ScriptedAnswer;
}

/** One-off answers queued by tests: `failNext` (any route) and `respondFor` (one ID). */
class ScriptBook {
	private failures: PendingFailure[] = [];
	private readonly answers = new Map<string, PendingAnswer[]>();

	addFailures(
		count: number,
		fault: ScriptedFault,
		route: ApiRoute | undefined,
		headers: OutgoingHttpHeaders = {},
	): void {
		this.failures.push({ remaining: count, fault, route, headers });
	}

	addAnswer(id: string, answer: ScriptedAnswer): void {
		const queue = this.answers.get(id) ?? [];
		queue.push({ remaining: answer.times ?? 1, answer });
		this.answers.set(id, queue);
	}

	takeFailure(route: ApiRoute): PendingFailure | undefined {
		if (this.failures.length === 0) return undefined;
		const index = this.failures.findIndex(
			(failure) => failure.route === undefined || failure.route === route,
		);
		if (index === -1) return undefined;
		const failure = this.failures[index];
		failure.remaining -= 1;
		if (failure.remaining <= 0) this.failures.splice(index, 1);
		return failure;
	}

	takeAnswer(id: string): ScriptedAnswer | undefined {
		if (this.answers.size === 0) return undefined;
		const queue = this.answers.get(id);
		if (queue === undefined) return undefined;
		const next = queue[0];
		next.remaining -= 1;
		if (next.remaining <= 0) queue.shift();
		if (queue.length === 0) this.answers.delete(id);
		return next.answer;
	}

	clear(): void {
		this.failures = [];
		this.answers.clear();
	}
}

interface UserRecord extends PublicUser {
	password: string;
}

interface TokenRecord {
	serial: number;
	owner: PublicUser;
	canErase: boolean;
	expiresAtMs: number;
}

type TokenCheck =
	{ kind: 'valid'; token: TokenRecord } | { kind: 'missing' | 'unknown' | 'expired' };

/** Users, static tokens and JWTs issued by login. */
class IdentityStore {
	private readonly users = new Map<string, UserRecord>();
	private readonly tokens = new Map<string, TokenRecord>();
	private readonly signingKey = randomBytes(32);
	private nextSerial = 1;
	private expiredThroughSerial = 0;
	private staticOwners = 0;

	/** Adding an existing email again changes its password and keeps its id. */
	addUser(email: string, password: string): PublicUser {
		const id = this.users.get(email)?.id ?? `user-${this.users.size + 1}`;
		const user = { id, email, password };
		this.users.set(email, user);
		return { id: user.id, email };
	}

	addStaticToken(token: string, options: AccessTokenOptions): void {
		const owner = this.ownerFor(options.email);
		this.tokens.set(
			token,
			this.newRecord(owner, options.canErase ?? true, Number.POSITIVE_INFINITY),
		);
	}

	/** Returns the issued tokens, or undefined when the email or password is wrong. */
	login(
		email: string,
		password: string,
		ttlSeconds: number,
	): { token: string; refreshToken: string } | undefined {
		const user = this.users.get(email);
		if (user === undefined || user.password !== password) return undefined;
		const owner = { id: user.id, email: user.email };
		const issuedAtMs = Date.now();
		const record = this.newRecord(owner, true, issuedAtMs + ttlSeconds * 1000);
		const token = this.signJwt(owner, issuedAtMs, record.expiresAtMs);
		this.tokens.set(token, record);
		return { token, refreshToken: randomBytes(32).toString('base64url') };
	}

	check(authorization: string | undefined): TokenCheck {
		const bearer = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
		if (bearer === null) return { kind: 'missing' };
		const token = this.tokens.get(bearer[1]);
		if (token === undefined) return { kind: 'unknown' };
		if (token.serial <= this.expiredThroughSerial || Date.now() >= token.expiresAtMs)
			return { kind: 'expired' };
		return { kind: 'valid', token };
	}

	expireAll(): void {
		this.expiredThroughSerial = this.nextSerial - 1;
	}

	private newRecord(owner: PublicUser, canErase: boolean, expiresAtMs: number): TokenRecord {
		return { serial: this.nextSerial++, owner, canErase, expiresAtMs };
	}

	private ownerFor(email: string | undefined): PublicUser {
		const user = email === undefined ? undefined : this.users.get(email);
		if (user !== undefined) return { id: user.id, email: user.email };
		this.staticOwners += 1;
		return { id: `token-owner-${this.staticOwners}`, email: email ?? STATIC_TOKEN_EMAIL };
	}

	private signJwt(owner: PublicUser, issuedAtMs: number, expiresAtMs: number): string {
		const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
		const claims = {
			sub: owner.id,
			email: owner.email,
			iat: Math.floor(issuedAtMs / 1000),
			exp: Math.floor(expiresAtMs / 1000),
			jti: randomUUID(),
		};
		const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
		const signature = createHmac('sha256', this.signingKey)
			.update(`${header}.${payload}`)
			.digest('base64url');
		return `${header}.${payload}.${signature}`;
	}
}

function erasureKey(route: ErasureRoute, id: string): string {
	return `${route}\u0000${id}`;
}

class RequestLog {
	readonly entries: RecordedRequest[] = [];
	private nextSeq = 1;

	append(fields: Omit<RecordedRequest, 'seq'>): RecordedRequest {
		const entry: RecordedRequest = { seq: this.nextSeq++, ...fields };
		this.entries.push(entry);
		return entry;
	}

	clear(): void {
		this.entries.length = 0;
	}

	restart(): void {
		this.clear();
		this.nextSeq = 1;
	}

	erasures(): ErasureRecord[] {
		const result: ErasureRecord[] = [];
		for (const entry of this.entries) {
			if (!entry.applied || entry.id === undefined || !isErasureRoute(entry.route)) continue;
			result.push({ route: entry.route, id: entry.id, skipDeleteRecord: entry.skipDeleteRecord });
		}
		return result;
	}

	/** Erasure requests sent after an earlier request for the same (route, id) succeeded. */
	duplicateErasures(): number {
		const firstSuccess = new Map<string, number>();
		for (const entry of this.entries) {
			if (!entry.applied || entry.id === undefined || !isErasureRoute(entry.route)) continue;
			const key = erasureKey(entry.route, entry.id);
			if (!firstSuccess.has(key)) firstSuccess.set(key, entry.seq);
		}
		let duplicates = 0;
		for (const entry of this.entries) {
			if (entry.id === undefined || !isErasureRoute(entry.route)) continue;
			const successSeq = firstSuccess.get(erasureKey(entry.route, entry.id));
			if (successSeq !== undefined && entry.seq > successSeq) duplicates += 1;
		}
		return duplicates;
	}
}

function listen(server: Server, port: number): Promise<number> {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, LOOPBACK, () => {
			server.off('error', reject);
			const address = server.address();
			if (address === null || typeof address === 'string')
				reject(new Error('simulator has no TCP address'));
			else resolve(address.port);
		});
	});
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

export class Twin24Simulator {
	readonly port: number;
	readonly origin: string;
	readonly cisBaseUrl: string;
	readonly iamBaseUrl: string;

	private readonly initialSwitches: SimulatorSwitches;
	private active: SimulatorSwitches = { ...DEFAULT_SWITCHES };
	private limit: SlidingWindowLimit | undefined;
	private dice: FaultDice | undefined;
	private readonly identities = new IdentityStore();
	private readonly log = new RequestLog();
	private readonly scripts = new ScriptBook();
	private readonly calls = new Map<string, CallState>();
	private readonly candidates = new Map<string, CandidateState>();
	private counters = emptyStats();
	private loginCounts: LoginCounts = { ok: 0, failed: 0 };
	private readonly sockets = new Set<Socket>();
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly intervals = new Set<NodeJS.Timeout>();
	private readonly control: ControlApi | undefined;
	private readonly onReset: ((sim: Twin24Simulator) => void) | undefined;
	private stopped = false;

	/** Starts a simulator on 127.0.0.1 (port 0 = a free port). */
	static async start(options: SimulatorOptions = {}): Promise<Twin24Simulator> {
		const initialSwitches = { ...DEFAULT_SWITCHES, ...readSwitches(options) };
		const server = createServer();
		const port = await listen(server, options.port ?? 0);
		return new Twin24Simulator(server, port, initialSwitches, options);
	}

	private constructor(
		private readonly server: Server,
		port: number,
		initialSwitches: SimulatorSwitches,
		options: SimulatorOptions,
	) {
		this.port = port;
		this.origin = `http://${LOOPBACK}:${port}`;
		this.cisBaseUrl = this.origin + CIS_BASE_PATH;
		this.iamBaseUrl = this.origin + IAM_BASE_PATH;
		this.initialSwitches = initialSwitches;
		this.applySwitches(initialSwitches);
		this.control = options.controlApi === true ? new ControlApi(this) : undefined;
		this.onReset = options.onReset;
		server.on('connection', (socket: Socket) => this.trackSocket(socket));
		server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
	}

	// ----- switches -----

	/** Changes switches at any time; throws TypeError/RangeError on invalid values. */
	configure(switches: Partial<SimulatorSwitches>): void {
		this.applySwitches(readSwitches(switches));
	}

	get switches(): SimulatorSwitches {
		return { ...this.active };
	}

	// ----- seeding and state -----

	/** Adds (or re-seeds) calls; default hasRecord true. */
	addCalls(ids: readonly string[], options: { hasRecord?: boolean } = {}): void {
		for (const id of ids)
			this.calls.set(id, { depersonalized: false, hasRecord: options.hasRecord ?? true });
	}

	addCandidates(ids: readonly string[]): void {
		for (const id of ids) this.candidates.set(id, { depersonalized: false });
	}

	getCall(id: string): CallState | undefined {
		const call = this.calls.get(id);
		return call === undefined ? undefined : { ...call };
	}

	getCandidate(id: string): CandidateState | undefined {
		const candidate = this.candidates.get(id);
		return candidate === undefined ? undefined : { ...candidate };
	}

	seed(request: SeedRequest): void {
		this.addCalls(request.calls ?? [], { hasRecord: request.hasRecord });
		this.addCandidates(request.candidates ?? []);
	}

	// ----- identity -----

	addUser(email: string, password: string): PublicUser {
		return this.identities.addUser(email, password);
	}

	/** A long-lived token, as pasted from a Twin24 account; default canErase true. */
	addAccessToken(token: string, options: AccessTokenOptions = {}): void {
		this.identities.addStaticToken(token, options);
	}

	/** Every token issued or added so far answers 401 "Token expired"; later ones work. */
	expireAllTokens(): void {
		this.identities.expireAll();
	}

	get logins(): LoginCounts {
		return { ...this.loginCounts };
	}

	/** logins.ok + logins.failed. */
	get loginCount(): number {
		return this.loginCounts.ok + this.loginCounts.failed;
	}

	// ----- scripted answers -----

	/**
	 * The next `count` API requests (optionally only of `route`) get `fault` before any state
	 * change, with `headers` added to the answer (e.g. a Retry-After).
	 */
	failNext(
		count: number,
		fault: ScriptedFault,
		options: { route?: ApiRoute; headers?: Record<string, string> } = {},
	): void {
		const times = requireTimes(count);
		if (options.route !== undefined && !API_ROUTES.has(options.route))
			throw new TypeError('unknown route');
		const headers = lowerCaseKeys(options.headers ?? {});
		this.scripts.addFailures(times, readScriptedFault(fault), options.route, headers);
	}

	/** Queues an answer for requests whose decoded ID is `id`; several queue up in order. */
	respondFor(id: string, answer: ScriptedAnswer): void {
		this.scripts.addAnswer(id, readScriptedAnswer(answer));
	}

	/** Drops all `respondFor` and `failNext` answers not used yet. */
	clearScripted(): void {
		this.scripts.clear();
	}

	// ----- log and stats -----

	/** The live log, in arrival order. */
	get requests(): readonly RecordedRequest[] {
		return this.log.entries;
	}

	clearLog(): void {
		this.log.clear();
	}

	/** Erasure requests answered 200, in arrival order. */
	erasures(): ErasureRecord[] {
		return this.log.erasures();
	}

	duplicateErasures(): number {
		return this.log.duplicateErasures();
	}

	get stats(): SimulatorStats {
		return { ...this.counters, byStatus: { ...this.counters.byStatus } };
	}

	snapshot(): SimulatorSnapshot {
		return {
			calls: Object.fromEntries(this.calls),
			candidates: Object.fromEntries(this.candidates),
			logins: this.logins,
			loginCount: this.loginCount,
			stats: this.stats,
			erasures: this.erasures(),
			duplicateErasures: this.duplicateErasures(),
			switches: this.switches,
		};
	}

	/**
	 * Clears calls, candidates, log (seq restarts at 1), stats, login counts and scripted answers,
	 * and puts the switches back to the options given to start(). Users and tokens are kept
	 * (tokens expired by expireAllTokens stay expired). Then calls the `onReset` option.
	 */
	reset(): void {
		this.calls.clear();
		this.candidates.clear();
		this.log.restart();
		this.scripts.clear();
		this.loginCounts = { ok: 0, failed: 0 };
		const inFlight = this.counters.inFlight;
		this.counters = { ...emptyStats(), inFlight, maxInFlight: inFlight };
		this.active = { ...DEFAULT_SWITCHES };
		this.applySwitches(this.initialSwitches);
		this.onReset?.(this);
	}

	/** Stops listening and destroys every open connection, hung and endless ones included. */
	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		for (const timer of this.timers) clearTimeout(timer);
		for (const interval of this.intervals) clearInterval(interval);
		this.timers.clear();
		this.intervals.clear();
		const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
		for (const socket of this.sockets) socket.destroy();
		await closed;
	}

	// ----- request handling -----

	private applySwitches(changes: Partial<SimulatorSwitches>): void {
		this.active = { ...this.active, ...changes };
		if (changes.rateLimit !== undefined) this.limit = createLimit(this.active.rateLimit);
		if (changes.faults !== undefined)
			this.dice = this.active.faults ? new FaultDice(this.active.faults) : undefined;
	}

	private trackSocket(socket: Socket): void {
		this.sockets.add(socket);
		socket.once('close', () => this.sockets.delete(socket));
	}

	private onRequest(req: IncomingMessage, res: ServerResponse): void {
		const url = req.url ?? '/';
		const { path, query } = splitUrl(url);
		if (this.control !== undefined && path.startsWith(`${CONTROL_BASE_PATH}/`)) {
			this.control.handle(req, res, path, query);
			return;
		}
		const match = matchRoute(req.method ?? '', path);
		const entry = this.record(req, url, path, query, match);
		this.trackResponse(entry, res);
		readBody(req)
			.then((body) => this.process(req, res, entry, match, body))
			.catch((error: unknown) => this.answerInternalError(entry, res, error));
	}

	private record(
		req: IncomingMessage,
		url: string,
		path: string,
		query: string,
		match: RouteMatch,
	): RecordedRequest {
		const entry = this.log.append({
			method: req.method ?? '',
			url,
			path,
			query,
			headers: this.active.logHeaders ? req.headers : {},
			body: '',
			json: undefined,
			route: match.route,
			id: match.id,
			skipDeleteRecord: undefined,
			status: undefined,
			startedAt: performance.now(),
			finishedAt: undefined,
			completed: false,
			applied: false,
		});
		this.counters.requests += 1;
		this.counters.inFlight += 1;
		this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
		return entry;
	}

	private trackResponse(entry: RecordedRequest, res: ServerResponse): void {
		res.once('close', () => {
			entry.finishedAt = performance.now();
			entry.completed = res.writableFinished;
			this.counters.inFlight -= 1;
		});
	}

	private async process(
		req: IncomingMessage,
		res: ServerResponse,
		entry: RecordedRequest,
		match: RouteMatch,
		body: ReceivedBody,
	): Promise<void> {
		if (this.active.logBodies) {
			entry.body = body.text;
			entry.json = body.json;
		}
		const { route } = match;
		if (route === 'unknown') return this.answerJson(entry, res, 404, { message: 'No route' });
		if (body.kind === 'tooLarge')
			return this.answerJson(entry, res, 413, { message: 'Body too large' });
		if (this.refuseOverLimit(entry, res)) return;
		const latencyMs = pickLatencyMs(this.active.latencyMs);
		if (latencyMs > 0) await this.delay(latencyMs);
		const scripted = this.scripts.takeFailure(route);
		if (scripted !== undefined)
			return this.injectFault(entry, res, scripted.fault, scripted.headers);
		const fault = this.dice?.roll();
		if (fault !== undefined) return this.injectFault(entry, res, fault);
		if (route === 'login') return this.handleLogin(entry, res, body);
		const access = this.identities.check(req.headers.authorization);
		if (access.kind !== 'valid') return this.refuseToken(entry, res, access.kind);
		if (route === 'me') return this.answerJson(entry, res, 200, access.token.owner);
		if (!access.token.canErase)
			return this.answerJson(entry, res, 403, { message: FORBIDDEN_MESSAGE });
		return this.handleErasure(entry, res, route, match, body);
	}

	private handleErasure(
		entry: RecordedRequest,
		res: ServerResponse,
		route: ErasureRoute,
		match: RouteMatch,
		body: ReceivedBody,
	): void {
		const id = match.id;
		if (id === undefined)
			return this.answerJson(entry, res, 400, { message: 'ID has malformed percent-encoding' });
		const scripted = this.scripts.takeAnswer(id);
		if (scripted === undefined) return this.erase(entry, res, route, id, body);
		if (scripted.kind === 'answerLost') {
			this.counters.scriptedAnswers += 1;
			return this.erase(entry, res, route, id, body, scripted);
		}
		this.playScripted(entry, res, scripted, () => this.erase(entry, res, route, id, body));
	}

	private erase(
		entry: RecordedRequest,
		res: ServerResponse,
		route: ErasureRoute,
		id: string,
		body: ReceivedBody,
		loss?: Extract<ScriptedAnswer, { kind: 'answerLost' }>,
	): void {
		const options = route === 'call.deleteRecord' ? undefined : readErasureBody(body);
		if (options !== undefined && !options.ok)
			return this.answerJson(entry, res, 400, { message: options.message });
		const skipDeleteRecord = options?.skipDeleteRecord;
		entry.skipDeleteRecord = skipDeleteRecord;
		const refusal = this.changeState(route, id, skipDeleteRecord === true);
		if (refusal !== undefined) return this.answerJson(entry, res, 404, { message: refusal });
		entry.applied = true;
		if (loss?.loss === 'reset') return this.resetConnection(entry, res);
		if (loss?.loss === 'late') {
			void this.delay(loss.delayMs ?? 0).then(() => this.answer(entry, res, 200, '', {}));
			return;
		}
		this.answer(entry, res, 200, '', {});
	}

	/** Applies an erasure; returns the 404 message when there is nothing to erase. */
	private changeState(
		route: ErasureRoute,
		id: string,
		skipDeleteRecord: boolean,
	): string | undefined {
		if (route === 'candidate.depersonalize') return this.depersonalizeCandidate(id);
		if (route === 'call.deleteRecord') return this.deleteCallRecord(id);
		return this.depersonalizeCall(id, skipDeleteRecord);
	}

	private depersonalizeCall(id: string, skipDeleteRecord: boolean): string | undefined {
		const call = this.findCall(id);
		if (call === undefined) return `Call ${id} not found`;
		if (call.depersonalized) return `Call ${id} already depersonalized`;
		call.depersonalized = true;
		if (!skipDeleteRecord) call.hasRecord = false;
		return undefined;
	}

	private deleteCallRecord(id: string): string | undefined {
		const call = this.findCall(id);
		if (call === undefined) return `Call ${id} not found`;
		if (!call.hasRecord) return `Record of call ${id} not found`;
		call.hasRecord = false;
		return undefined;
	}

	private depersonalizeCandidate(id: string): string | undefined {
		const candidate = this.findCandidate(id);
		if (candidate === undefined) return `Auto-call candidate ${id} not found`;
		if (candidate.depersonalized) return `Auto-call candidate ${id} already depersonalized`;
		candidate.depersonalized = true;
		return undefined;
	}

	private findCall(id: string): CallState | undefined {
		const known = this.calls.get(id);
		if (known !== undefined || !this.active.acceptAnyId) return known;
		const created = { depersonalized: false, hasRecord: true };
		this.calls.set(id, created);
		return created;
	}

	private findCandidate(id: string): CandidateState | undefined {
		const known = this.candidates.get(id);
		if (known !== undefined || !this.active.acceptAnyId) return known;
		const created = { depersonalized: false };
		this.candidates.set(id, created);
		return created;
	}

	private handleLogin(entry: RecordedRequest, res: ServerResponse, body: ReceivedBody): void {
		const form = readLoginBody(body);
		if (!form.ok) {
			this.loginCounts.failed += 1;
			return this.answerJson(entry, res, 400, { message: form.message });
		}
		const issued = this.identities.login(form.email, form.password, this.tokenLifetime(form.ttl));
		if (issued === undefined) {
			this.loginCounts.failed += 1;
			return this.answerJson(entry, res, 401, { message: 'Invalid email or password' });
		}
		this.loginCounts.ok += 1;
		this.answerJson(entry, res, 200, issued);
	}

	private tokenLifetime(requestedTtl: number | undefined): number {
		if (this.active.tokenTtlSeconds !== null) return this.active.tokenTtlSeconds;
		return Math.min(requestedTtl ?? DEFAULT_LOGIN_TTL_SECONDS, this.active.maxTokenTtlSeconds);
	}

	private refuseToken(
		entry: RecordedRequest,
		res: ServerResponse,
		problem: 'missing' | 'unknown' | 'expired',
	): void {
		const message = problem === 'expired' ? 'Token expired' : 'Unauthorized';
		this.answerJson(entry, res, 401, { message }, UNAUTHORIZED_HEADERS);
	}

	/** Answers 429 and returns true when the rate limit is reached. */
	private refuseOverLimit(entry: RecordedRequest, res: ServerResponse): boolean {
		const setting = this.active.rateLimit;
		if (this.limit === undefined || setting === null) return false;
		const waitMs = this.limit.take();
		if (waitMs === 0) return false;
		this.counters.rateLimited += 1;
		const retryAfter = retryAfterValue(setting.retryAfter ?? 'seconds', waitMs);
		const headers: OutgoingHttpHeaders =
			retryAfter === undefined ? {} : { 'retry-after': retryAfter };
		this.answerJson(entry, res, 429, { message: 'Too many requests' }, headers);
		return true;
	}

	private injectFault(
		entry: RecordedRequest,
		res: ServerResponse,
		fault: ScriptedFault,
		headers: OutgoingHttpHeaders = {},
	): void {
		this.counters.faultsInjected += 1;
		if (fault === 'reset') return this.resetConnection(entry, res);
		this.answerCanned(entry, res, fault, headers);
	}

	private resetConnection(entry: RecordedRequest, res: ServerResponse): void {
		this.markStatus(entry, 'reset');
		this.counters.resets += 1;
		res.socket?.destroy();
	}

	private playScripted(
		entry: RecordedRequest,
		res: ServerResponse,
		answer: ScriptedAnswer,
		proceed: () => void,
	): void {
		this.counters.scriptedAnswers += 1;
		switch (answer.kind) {
			case 'hang':
				this.markStatus(entry, 'hung');
				this.counters.hung += 1;
				return;
			case 'slowHeaders':
				void this.delay(answer.delayMs).then(() => {
					if (answer.status === undefined) proceed();
					else this.answerCanned(entry, res, answer.status);
				});
				return;
			case 'endlessBody':
				return this.streamEndlessBody(entry, res, answer.status);
			case 'redirect':
				return this.answer(entry, res, answer.status, '', { location: answer.location });
			case undefined:
			case 'status':
				return this.answerScriptedStatus(
					entry,
					res,
					answer.status,
					answer.body,
					answer.headers ?? {},
				);
		}
	}

	private answerScriptedStatus(
		entry: RecordedRequest,
		res: ServerResponse,
		status: number,
		body: string | Buffer | undefined,
		headers: Record<string, string>,
	): void {
		if (body === undefined) return this.answerCanned(entry, res, status, lowerCaseKeys(headers));
		const contentType = { 'content-type': guessContentType(body) };
		this.answer(entry, res, status, body, { ...contentType, ...lowerCaseKeys(headers) });
	}

	private streamEndlessBody(entry: RecordedRequest, res: ServerResponse, status: number): void {
		this.markStatus(entry, status);
		if (res.destroyed) return;
		res.writeHead(status, { 'content-type': JSON_TYPE });
		res.write('{"message":"');
		const pump = setInterval(() => {
			if (!res.writableNeedDrain) res.write(ENDLESS_CHUNK);
		}, ENDLESS_CHUNK_INTERVAL_MS);
		this.intervals.add(pump);
		res.once('close', () => {
			clearInterval(pump);
			this.intervals.delete(pump);
		});
	}

	private answerInternalError(entry: RecordedRequest, res: ServerResponse, error: unknown): void {
		if (res.headersSent || res.destroyed) return;
		this.answerJson(entry, res, 500, { message: `Simulator error: ${errorMessage(error)}` });
	}

	private answerCanned(
		entry: RecordedRequest,
		res: ServerResponse,
		status: number,
		extra: OutgoingHttpHeaders = {},
	): void {
		const canned = cannedBody(status);
		this.answer(entry, res, status, canned.body, { ...canned.headers, ...extra });
	}

	private answerJson(
		entry: RecordedRequest,
		res: ServerResponse,
		status: number,
		payload: object,
		headers: OutgoingHttpHeaders = {},
	): void {
		this.answer(entry, res, status, JSON.stringify(payload), {
			'content-type': JSON_TYPE,
			...headers,
		});
	}

	private answer(
		entry: RecordedRequest,
		res: ServerResponse,
		status: number,
		body: string | Buffer,
		headers: OutgoingHttpHeaders,
	): void {
		this.markStatus(entry, status);
		if (res.destroyed) return;
		res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
		res.end(body);
	}

	private markStatus(entry: RecordedRequest, status: RecordedStatus): void {
		entry.status = status;
		const key = String(status);
		this.counters.byStatus[key] = (this.counters.byStatus[key] ?? 0) + 1;
	}

	private delay(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.timers.delete(timer);
				resolve();
			}, ms);
			this.timers.add(timer);
		});
	}
}

// ---------------------------------------------------------------------------------------------
// Control API (`controlApi: true`): drives a simulator in another process, e.g. the CLI
// ---------------------------------------------------------------------------------------------

interface ControlAnswer {
	status: number;
	payload: unknown;
}

const OK: ControlAnswer = { status: 200, payload: { ok: true } };

function sendControlAnswer(res: ServerResponse, answer: ControlAnswer): void {
	if (res.destroyed) return;
	const text = JSON.stringify(answer.payload);
	res.writeHead(answer.status, {
		'content-type': JSON_TYPE,
		'content-length': Buffer.byteLength(text),
	});
	res.end(text);
}

function rejectUnknownKeys(input: unknown, allowed: readonly string[]): void {
	if (!isRecord(input)) throw new TypeError('body must be a JSON object');
	const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
	if (unknown.length > 0) throw new TypeError(`unknown field(s): ${unknown.join(', ')}`);
}

function readStringList(value: unknown, name: string): string[] {
	if (value === undefined) return [];
	if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
		throw new TypeError(`${name} must be an array of strings`);
	}
	return value;
}

function readSeed(input: unknown): SeedRequest {
	rejectUnknownKeys(input, ['calls', 'candidates', 'hasRecord']);
	const body = input as Record<string, unknown>;
	const hasRecord =
		body.hasRecord === undefined ? undefined : requireBoolean(body.hasRecord, 'hasRecord');
	return {
		calls: readStringList(body.calls, 'calls'),
		candidates: readStringList(body.candidates, 'candidates'),
		hasRecord,
	};
}

class ControlApi {
	constructor(private readonly sim: Twin24Simulator) {}

	handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
		readBody(req)
			.then((body) => this.dispatch(req.method ?? '', path, query, body))
			.catch((error: unknown): ControlAnswer => ({
				status: 400,
				payload: { message: errorMessage(error) },
			}))
			.then((answer) => sendControlAnswer(res, answer))
			.catch(() => res.destroy());
	}

	private dispatch(method: string, path: string, query: string, body: ReceivedBody): ControlAnswer {
		if (body.kind === 'invalid' || body.kind === 'tooLarge')
			throw new TypeError('body must be valid JSON');
		const action = path.slice(CONTROL_BASE_PATH.length + 1);
		if (method === 'GET') return this.read(action, query);
		if (method === 'POST') return this.change(action, body.json ?? {});
		return { status: 404, payload: { message: 'No control endpoint' } };
	}

	private read(action: string, query: string): ControlAnswer {
		if (action === 'requests') {
			const since = Number(new URLSearchParams(query).get('since') ?? '0');
			return { status: 200, payload: this.sim.requests.filter((entry) => entry.seq > since) };
		}
		if (action === 'state') return { status: 200, payload: this.sim.snapshot() };
		return { status: 404, payload: { message: 'No control endpoint' } };
	}

	private change(action: string, input: unknown): ControlAnswer {
		switch (action) {
			case 'configure':
				rejectUnknownKeys(input, SWITCH_NAMES);
				this.sim.configure(readSwitches(input));
				return { status: 200, payload: { ok: true, switches: this.sim.switches } };
			case 'seed':
				this.sim.seed(readSeed(input));
				return OK;
			case 'expire-tokens':
				this.sim.expireAllTokens();
				return OK;
			case 'reset':
				this.sim.reset();
				return OK;
			case 'clear-log':
				this.sim.clearLog();
				return OK;
			default:
				return this.script(action, input);
		}
	}

	private script(action: string, input: unknown): ControlAnswer {
		switch (action) {
			case 'fail-next':
				return this.failNext(input);
			case 'respond-for':
				return this.respondFor(input);
			case 'clear-scripted':
				this.sim.clearScripted();
				return OK;
			default:
				return { status: 404, payload: { message: 'No control endpoint' } };
		}
	}

	private failNext(input: unknown): ControlAnswer {
		rejectUnknownKeys(input, ['count', 'fault', 'route']);
		const body = input as Record<string, unknown>;
		if (
			body.route !== undefined &&
			(typeof body.route !== 'string' || !API_ROUTES.has(body.route))
		) {
			throw new TypeError('route must be one of ' + [...API_ROUTES].join(', '));
		}
		const route = body.route as ApiRoute | undefined;
		this.sim.failNext(requireTimes(body.count), readScriptedFault(body.fault), { route });
		return OK;
	}

	private respondFor(input: unknown): ControlAnswer {
		rejectUnknownKeys(input, ['id', 'answer']);
		const body = input as Record<string, unknown>;
		if (typeof body.id !== 'string') throw new TypeError('id must be a string');
		this.sim.respondFor(body.id, readScriptedAnswer(body.answer));
		return OK;
	}
}

/** Seeds the demo identity (user, erase token, read-only token) and the sample calls/candidates. */
export function seedDemoData(sim: Twin24Simulator): void {
	sim.addCalls(DEMO_CALL_IDS);
	sim.addCandidates(DEMO_CANDIDATE_IDS);
	sim.addUser(DEMO_EMAIL, DEMO_PASSWORD);
	sim.addAccessToken(DEMO_ACCESS_TOKEN, { email: DEMO_EMAIL });
	sim.addAccessToken(DEMO_READONLY_ACCESS_TOKEN, { email: DEMO_EMAIL, canErase: false });
}
