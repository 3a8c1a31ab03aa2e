/**
 * The project's Twin24 simulator, started through its CLI, and a client for its control endpoints.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { cleanEnv } from './config';
import { BackgroundProcess } from './proc';

export interface SimulatorInfo {
	origin: string;
	cisBaseUrl: string;
	iamBaseUrl: string;
	email: string;
	password: string;
	accessToken: string;
}

export interface LoggedRequest {
	method: string;
	url: string;
	path: string;
	headers: Record<string, string | string[] | undefined>;
	body: string;
	json: unknown;
	route: string;
	id?: string;
	status: number;
	/** When the simulator got the request and answered it, in its own milliseconds. */
	startedAt: number;
	finishedAt: number;
}

export interface SeedRequest {
	calls?: string[];
	candidates?: string[];
	hasRecord?: boolean;
}

/** The simulator switches the e2e changes (the control API accepts more). */
export interface SimulatorSwitchChanges {
	rateLimit?: { requestsPerSecond: number } | null;
	acceptAnyId?: boolean;
	logBodies?: boolean;
	logHeaders?: boolean;
}

/** A scripted answer for the requests for one ID (the simulator's `respondFor`): a status, `times` times. */
export interface ScriptedStatus {
	status: number;
	times?: number;
}

/** What the simulator recorded since its last reset: the ground truth of what was erased. */
export interface SimulatorRecord {
	/** IDs whose erasure was answered 200, once per such answer, in arrival order. */
	erasedIds: string[];
	/** Erasure requests sent after an earlier one for the same ID had succeeded. */
	duplicateErasures: number;
	/** Logins that issued a token. */
	logins: number;
	/** Requests answered 429. */
	rateLimited: number;
	requests: number;
}

export function simulatorCliPath(projectRoot: string): string {
	return join(projectRoot, '.dev', 'test', 'simulator', 'cli.js');
}

export function simulatorIsBuilt(projectRoot: string): boolean {
	return existsSync(simulatorCliPath(projectRoot));
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address !== null ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseInfo(line: string): SimulatorInfo {
	const parsed: unknown = JSON.parse(line);
	const keys = ['origin', 'cisBaseUrl', 'iamBaseUrl', 'email', 'password', 'accessToken'] as const;
	if (!isRecord(parsed) || !keys.every((key) => typeof parsed[key] === 'string')) {
		throw new Error(`Unexpected simulator start line: ${line}`);
	}
	return {
		origin: String(parsed.origin),
		cisBaseUrl: String(parsed.cisBaseUrl),
		iamBaseUrl: String(parsed.iamBaseUrl),
		email: String(parsed.email),
		password: String(parsed.password),
		accessToken: String(parsed.accessToken),
	};
}

export class Simulator {
	private constructor(
		readonly info: SimulatorInfo,
		private readonly process: BackgroundProcess,
	) {}

	static async start(projectRoot: string, logFile: string): Promise<Simulator> {
		const port = await freePort();
		const child = BackgroundProcess.start(
			'simulator',
			process.execPath,
			[simulatorCliPath(projectRoot), '--port', String(port)],
			{
				cwd: projectRoot,
				env: cleanEnv(),
				logFile,
			},
		);
		const line = await child.waitForLine(
			(candidate) => candidate.startsWith('{') && candidate.includes('"origin"'),
			30_000,
		);
		return new Simulator(parseInfo(line), child);
	}

	async stop(): Promise<void> {
		await this.process.stop(5000);
	}

	private async control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
		const response = await fetch(`${this.info.origin}/__simulator/${path}`, {
			method,
			headers: body === undefined ? {} : { 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
		return text.length > 0 ? JSON.parse(text) : undefined;
	}

	async reset(): Promise<void> {
		await this.control('POST', 'reset', {});
	}

	async seed(request: SeedRequest): Promise<void> {
		await this.control('POST', 'seed', request);
	}

	async expireTokens(): Promise<void> {
		await this.control('POST', 'expire-tokens', {});
	}

	/** The next `answer.times` (default 1) requests for `id` get `answer.status`, and change nothing. */
	async respondFor(id: string, answer: ScriptedStatus): Promise<void> {
		await this.control('POST', 'respond-for', { id, answer });
	}

	async state(): Promise<unknown> {
		return this.control('GET', 'state');
	}

	async configure(switches: SimulatorSwitchChanges): Promise<void> {
		await this.control('POST', 'configure', switches);
	}

	async record(): Promise<SimulatorRecord> {
		const state = await this.state();
		if (!isRecord(state) || !Array.isArray(state.erasures))
			throw new Error(`Unexpected simulator state: ${JSON.stringify(state).slice(0, 300)}`);
		const logins = isRecord(state.logins) ? state.logins : {};
		const stats = isRecord(state.stats) ? state.stats : {};
		return {
			erasedIds: state.erasures.filter(isRecord).map((erasure) => String(erasure.id)),
			duplicateErasures: Number(state.duplicateErasures),
			logins: Number(logins.ok),
			rateLimited: Number(stats.rateLimited),
			requests: Number(stats.requests),
		};
	}

	/** The request log; accepts either a bare array or `{ requests: [...] }`. */
	async requests(): Promise<LoggedRequest[]> {
		const payload = await this.control('GET', 'requests');
		const list = Array.isArray(payload)
			? payload
			: isRecord(payload)
				? payload.requests
				: undefined;
		if (!Array.isArray(list))
			throw new Error(`Unexpected request log: ${JSON.stringify(payload).slice(0, 300)}`);
		return list.filter(isRecord).map(toLoggedRequest);
	}
}

function toLoggedRequest(entry: Record<string, unknown>): LoggedRequest {
	const headers = isRecord(entry.headers) ? entry.headers : {};
	return {
		method: String(entry.method ?? ''),
		url: String(entry.url ?? ''),
		path: String(entry.path ?? ''),
		headers: Object.fromEntries(
			Object.entries(headers).map(([name, value]) => [name.toLowerCase(), headerValue(value)]),
		),
		body: typeof entry.body === 'string' ? entry.body : '',
		json: entry.json,
		route: String(entry.route ?? ''),
		id: typeof entry.id === 'string' ? entry.id : undefined,
		status: typeof entry.status === 'number' ? entry.status : 0,
		startedAt: Number(entry.startedAt),
		finishedAt: Number(entry.finishedAt ?? entry.startedAt),
	};
}

function headerValue(value: unknown): string | string[] | undefined {
	if (typeof value === 'string') return value;
	if (Array.isArray(value)) return value.map(String);
	return undefined;
}
