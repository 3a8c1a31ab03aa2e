/** Validation of switches and scripted answers (typed callers and the JSON control API alike). */
import { isRecord } from './shared';
import type {
	FaultSetting,
	InjectedFault,
	LatencySetting,
	RateLimitHeaderStyle,
	RateLimitSetting,
	RateLimitShape,
	RateLimitStep,
	RefusalBody,
	RefusalStatus,
	RetryAfterForm,
	ScriptedAnswer,
	ScriptedFault,
	SimulatorSwitches,
} from './types';

const INJECTABLE_FAULTS: ReadonlySet<unknown> = new Set<unknown>([500, 502, 503, 504, 'reset']);
const RETRY_AFTER_FORMS: ReadonlySet<unknown> = new Set<unknown>(['seconds', 'http-date', 'none']);
const RATE_LIMIT_SHAPES: ReadonlySet<unknown> = new Set<unknown>([
	'slidingWindow',
	'tokenBucket',
	'fixedWindow',
	'leakyBucket',
	'inFlight',
]);
const RATE_LIMIT_HEADER_STYLES: ReadonlySet<unknown> = new Set<unknown>([
	'none',
	'ietf',
	'ietf-combined',
	'x',
]);
const REFUSAL_STATUSES: ReadonlySet<unknown> = new Set<unknown>([429, 503]);
const REFUSAL_BODIES: ReadonlySet<unknown> = new Set<unknown>(['json', 'html', 'text', 'empty']);
/** A day: the longest Retry-After or window a test could mean; more is a typo. */
const LONGEST_SECONDS = 86400;
const REDIRECT_STATUSES: ReadonlySet<unknown> = new Set<unknown>([301, 302, 303, 307, 308]);

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

export function requireBoolean(value: unknown, name: string): boolean {
	if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
	return value;
}

function requireStatus(value: unknown, name: string): number {
	const status = requireNumber(value, name, 100, 599);
	if (!Number.isInteger(status)) throw new RangeError(`${name} must be an integer HTTP status`);
	return status;
}

export function requireTimes(value: unknown): number {
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

function requireOneOf<T>(
	value: unknown,
	allowed: ReadonlySet<unknown>,
	name: string,
): T | undefined {
	if (value === undefined) return undefined;
	if (!allowed.has(value)) throw new TypeError(`${name} must be one of ${[...allowed].join(', ')}`);
	return value as T;
}

function readSchedule(value: unknown): RateLimitStep[] | undefined {
	if (value === undefined) return undefined;
	if (!Array.isArray(value)) throw new TypeError('rateLimit.schedule must be an array');
	return value.map((step: unknown) => {
		if (!isRecord(step))
			throw new TypeError('rateLimit.schedule steps are { afterMs, requestsPerSecond }');
		return {
			afterMs: requireNumber(step.afterMs, 'rateLimit.schedule.afterMs', 0),
			requestsPerSecond: requirePositive(
				step.requestsPerSecond,
				'rateLimit.schedule.requestsPerSecond',
			),
		};
	});
}

function optional<T>(value: unknown, read: (present: unknown) => T): T | undefined {
	return value === undefined ? undefined : read(value);
}

function readRateLimit(value: unknown): RateLimitSetting | null {
	if (value === null) return null;
	if (!isRecord(value))
		throw new TypeError('rateLimit must be null or { requestsPerSecond, retryAfter?, shape?, … }');
	const shape = requireOneOf<RateLimitShape>(value.shape, RATE_LIMIT_SHAPES, 'rateLimit.shape');
	return {
		requestsPerSecond: requirePositive(value.requestsPerSecond, 'rateLimit.requestsPerSecond'),
		retryAfter: requireOneOf<RetryAfterForm>(
			value.retryAfter,
			RETRY_AFTER_FORMS,
			'rateLimit.retryAfter',
		),
		retryAfterSeconds: optional(value.retryAfterSeconds, (seconds) =>
			requireNumber(seconds, 'rateLimit.retryAfterSeconds', 0, LONGEST_SECONDS),
		),
		shape,
		// nginx's burst may be 0; a token bucket holding less than one token admits nothing.
		burst: optional(value.burst, (burst) =>
			requireNumber(burst, 'rateLimit.burst', shape === 'leakyBucket' ? 0 : 1),
		),
		windowSeconds: optional(value.windowSeconds, (seconds) =>
			requireNumber(seconds, 'rateLimit.windowSeconds', 0.001, LONGEST_SECONDS),
		),
		maxInFlight: optional(value.maxInFlight, (cap) => requireCount(cap, 'rateLimit.maxInFlight')),
		schedule: readSchedule(value.schedule),
		headers: requireOneOf<RateLimitHeaderStyle>(
			value.headers,
			RATE_LIMIT_HEADER_STYLES,
			'rateLimit.headers',
		),
		status: requireOneOf<RefusalStatus>(value.status, REFUSAL_STATUSES, 'rateLimit.status'),
		body: requireOneOf<RefusalBody>(value.body, REFUSAL_BODIES, 'rateLimit.body'),
		backgroundPerSecond: optional(value.backgroundPerSecond, (rate) =>
			requireNumber(rate, 'rateLimit.backgroundPerSecond', 0, Number.MAX_SAFE_INTEGER),
		),
	};
}

function requireCount(value: unknown, name: string): number {
	const count = requireNumber(value, name, 1, Number.MAX_SAFE_INTEGER);
	if (!Number.isInteger(count)) throw new RangeError(`${name} must be an integer`);
	return count;
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

export function readScriptedFault(value: unknown): ScriptedFault {
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
