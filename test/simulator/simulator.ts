/**
 * Twin24 simulator: a real HTTP server on 127.0.0.1 that answers like the Twin24 CIS and IAM APIs
 * described in /work/shared/twin24-api.md, with switches for the trouble a real API causes
 * (latency, rate limits, faults, scripted answers) and a request log that tests assert on.
 *
 * Order in which a request is handled (each step may answer and stop):
 *  1. control path (`/__simulator/...`, only with `controlApi: true`): not logged, not limited
 *  2. no matching route → 404 "No route" (no rate limit, latency or faults, so it is deterministic)
 *  3. body over 1 MiB → 413
 *  4. rate limit → 429 or 503 as configured (answered at once, without latency)
 *  5. latency
 *  6. `failNext` faults, then random `faults`
 *  7. login (no token needed)
 *  8. token → 401 / 403
 *  9. ID with malformed percent-encoding → 400
 * 10. `respondFor(id)` scripted answer
 * 11. body validation → 400
 * 12. state: 404 (unknown / already done) or 200, the only answer that changes state
 */
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import type { ReceivedBody } from './bodies';
import { readBody, readErasureBody, readLoginBody } from './bodies';
import {
	CIS_BASE_PATH,
	CONTROL_BASE_PATH,
	DEMO_ACCESS_TOKEN,
	DEMO_CALL_IDS,
	DEMO_CANDIDATE_IDS,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
	IAM_BASE_PATH,
} from './constants';
import { ControlApi } from './controlApi';
import { FaultDice, ScriptBook } from './faults';
import { IdentityStore } from './identities';
import type { RateLimit } from './rateLimit';
import { createLimit, nginxErrorPage } from './rateLimit';
import { RequestLog } from './requestLog';
import type { RouteMatch } from './routing';
import { matchRoute, splitUrl } from './routing';
import { API_ROUTES, errorMessage, JSON_TYPE } from './shared';
import type {
	AccessTokenOptions,
	ApiRoute,
	CallState,
	CandidateState,
	ErasureRecord,
	ErasureRoute,
	LatencySetting,
	LoginCounts,
	PublicUser,
	RateLimitSetting,
	RecordedRequest,
	RecordedStatus,
	ScriptedAnswer,
	ScriptedFault,
	SeedRequest,
	SimulatorOptions,
	SimulatorSnapshot,
	SimulatorStats,
	SimulatorSwitches,
} from './types';
import { readScriptedAnswer, readScriptedFault, readSwitches, requireTimes } from './validation';

// The public API: what tests, scripts and the CLI import from this file.
export * from './constants';
export type * from './types';
export type { Admission, LimitAnswer } from './rateLimit';
export { nginxErrorPage, RateLimit, renderRetryAfter } from './rateLimit';
export { SWITCH_NAMES } from './shared';
export { readScriptedAnswer, readSwitches } from './validation';

const LOOPBACK = '127.0.0.1';
const DEFAULT_LOGIN_TTL_SECONDS = 3600;
const ENDLESS_CHUNK = 'x'.repeat(16 * 1024);
const ENDLESS_CHUNK_INTERVAL_MS = 5;
const UNAUTHORIZED_HEADERS: OutgoingHttpHeaders = { 'www-authenticate': 'Bearer' };
const FORBIDDEN_MESSAGE = 'Forbidden: token lacks permission to erase data';

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

function pickLatencyMs(setting: LatencySetting): number {
	if (typeof setting === 'number') return setting;
	return setting.min + Math.random() * (setting.max - setting.min);
}

/** Body of an injected or scripted status without a body: proxies answer 502/504 with HTML. */
function cannedBody(status: number): { body: string; headers: OutgoingHttpHeaders } {
	const reason = STATUS_CODES[status] ?? 'Error';
	if (status === 502 || status === 504)
		return { body: nginxErrorPage(status), headers: { 'content-type': 'text/html' } };
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

export class Twin24Simulator {
	readonly port: number;
	readonly origin: string;
	readonly cisBaseUrl: string;
	readonly iamBaseUrl: string;

	private readonly initialSwitches: SimulatorSwitches;
	private active: SimulatorSwitches = { ...DEFAULT_SWITCHES };
	private limit: RateLimit | undefined;
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
		this.limit = undefined;
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
		if (changes.rateLimit !== undefined) this.limit = this.nextLimit(this.active.rateLimit);
		if (changes.faults !== undefined)
			this.dice = this.active.faults ? new FaultDice(this.active.faults) : undefined;
	}

	/** A limit configured while one is in force keeps what it holds if only its rate changed. */
	private nextLimit(setting: RateLimitSetting | null): RateLimit | undefined {
		if (setting === null) return undefined;
		return this.limit?.retune(setting) ?? createLimit(setting);
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

	/** Answers the limit's refusal (429 or 503) and returns true when the rate limit is reached. */
	private refuseOverLimit(entry: RecordedRequest, res: ServerResponse): boolean {
		const limit = this.limit;
		if (limit === undefined) return false;
		const answer = limit.answer(performance.now(), Date.now());
		if (answer.admitted) {
			// Set now, sent with whatever answer the request gets.
			for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
			// A cap on requests in flight counts this one until it is answered or its connection goes.
			res.once('close', () => limit.release());
			return false;
		}
		this.counters.rateLimited += 1;
		this.answer(entry, res, answer.status, answer.body, answer.headers);
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

/** Seeds the demo identity (user, erase token, read-only token) and the sample calls/candidates. */
export function seedDemoData(sim: Twin24Simulator): void {
	sim.addCalls(DEMO_CALL_IDS);
	sim.addCandidates(DEMO_CANDIDATE_IDS);
	sim.addUser(DEMO_EMAIL, DEMO_PASSWORD);
	sim.addAccessToken(DEMO_ACCESS_TOKEN, { email: DEMO_EMAIL });
	sim.addAccessToken(DEMO_READONLY_ACCESS_TOKEN, { email: DEMO_EMAIL, canErase: false });
}
