import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	JsonObject,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { BaseUrlCheck } from '../protocol';
import {
	CREDENTIAL_TYPE,
	DEFAULT_CIS_BASE_URL,
	DEFAULT_IAM_BASE_URL,
	SESSION_TOKEN_PROPERTY,
	apiMessageOf,
	bearerTokenOf,
	checkBaseUrl,
	joinUrl,
	redact,
	secretsOf,
} from '../protocol';
import type { Failure } from './errors';
import { describeFailure, failureOfThrown, mayHaveBeenCarriedOut } from './errors';
import type { Pacer } from './pacing/pacer';
import { pause } from './pacing/pacer';
import { parseRetryAfter } from './pacing/rateLimitHeaders';
import type { PaceHandle } from './pacing/registry';
import { acquirePacer } from './pacing/registry';

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10000;
/** Error bodies are read up to this size; the rest is dropped unread. */
const MAX_BODY_BYTES = 64 * 1024;

export interface TransportSettings {
	maxRetries: number;
	timeoutMs: number;
	/** The longest wait the node accepts from a Retry-After before it fails the items instead. */
	maxWaitMs: number;
	/** Items worked on at once: read, waiting for their turn, or in flight. */
	concurrency: number;
}

export interface PlannedRequest {
	method: IHttpRequestMethods;
	url: string;
	body?: JsonObject;
}

/** What became of one request, as far as Twin24 said. `attempts` counts the requests sent. */
export type SendResult =
	| { outcome: 'done'; confirmedAt: string; attempts: number }
	/**
	 * Twin24 answered 404. `answerLost`: an earlier attempt may have been carried out and its
	 * answer lost, so the 404 is most likely this run's own erasure.
	 */
	| {
			outcome: 'notFound';
			confirmedAt: string;
			attempts: number;
			answerLost: boolean;
			failure: Failure;
			retries: number;
	  }
	| { outcome: 'failed'; failure: Failure; attempts: number; retries: number };

/** The response body as the HTTP client hands it over with `encoding: 'stream'`. */
interface ResponseStream extends AsyncIterable<unknown> {
	destroy(): void;
}

type Headers = Readonly<Record<string, unknown>>;

type Attempt =
	| { kind: 'success'; headers: Headers }
	| { kind: 'response'; statusCode: number; headers: Headers; apiMessage?: string }
	| { kind: 'error'; failure: Failure; retryable: boolean };

export interface TransportStats {
	requests: number;
	retries: number;
	rateLimited: number;
}

type BodyRead = { ok: true; text: string } | { ok: false; failure: Failure; retryable: boolean };

/** What one item's request went through so far. */
interface Tally {
	attempts: number;
	retries: number;
	/** Retries after trouble (5xx, 408, dropped connections, timeouts): at most Max Retries. */
	troubleRetries: number;
	/** 429s are retried for as long as Max Wait from the first one, whatever their number. */
	rateLimitedSince: number | undefined;
	/** An attempt failed in a way that Twin24 may still have carried it out. */
	mayHaveBeenCarriedOut: boolean;
}

/**
 * Reads at most MAX_BODY_BYTES of a response body and drops the rest unread, so that a huge or
 * endless body costs neither memory nor time; gives up when the deadline passes.
 */
async function readCapped(stream: ResponseStream, deadline: AbortSignal): Promise<BodyRead> {
	const chunks: Buffer[] = [];
	let size = 0;
	const stop = () => stream.destroy();
	deadline.addEventListener('abort', stop, { once: true });
	try {
		for await (const chunk of stream) {
			const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
			chunks.push(buffer);
			size += buffer.length;
			if (size >= MAX_BODY_BYTES) {
				stream.destroy();
				break;
			}
		}
	} catch (error) {
		if (!deadline.aborted) return { ok: false, ...failureOfThrown(error) };
	} finally {
		deadline.removeEventListener('abort', stop);
	}
	if (deadline.aborted) return { ok: false, failure: { kind: 'timeout' }, retryable: true };
	return { ok: true, text: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') };
}

/** Exponential backoff with jitter: half of the step is fixed, half random. */
function backoffMs(retry: number): number {
	const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
	return step / 2 + Math.random() * (step / 2);
}

function waitTooLong(statusCode: number, waitMs: number, maxWaitMs: number): Failure {
	const resumeAt = new Date(Date.now() + waitMs).toISOString();
	return { kind: 'waitTooLong', statusCode, waitMs, maxWaitMs, resumeAt };
}

function usableBaseUrl(ctx: IExecuteFunctions, check: BaseUrlCheck): string {
	if (check.ok) return check.url;
	throw new NodeOperationError(ctx.getNode(), check.message, {
		description: 'Nothing was sent. Open the Twin24 credential and correct the URL.',
	});
}

/** The execution's cancel signal (Stop, workflow timeout), on n8n versions that have one. */
function executionCancelSignal(ctx: IExecuteFunctions): AbortSignal | undefined {
	const withSignal = ctx as Partial<Pick<IExecuteFunctions, 'getExecutionCancelSignal'>>;
	return typeof withSignal.getExecutionCancelSignal === 'function'
		? withSignal.getExecutionCancelSignal.call(ctx)
		: undefined;
}

interface SessionAttempt {
	attempt: Attempt;
	/** The token the attempt was sent with ('' for none). */
	tokenUsed: string;
}

/**
 * The bearer token of one run. Each request is sent with its own copy of the credential data,
 * so a token cleared by one request never empties the header of another in flight. In login
 * mode the request that finds no token logs in (through the credential's preAuthentication)
 * while the others wait and then share the new token. Failed logins are counted for the run:
 * after Max Retries + 1 of them, or one that cannot succeed, every request fails with the login's
 * own message; between them the next login waits for the IAM's Retry-After, or a backoff.
 */
class TokenSession {
	/** The login in progress, if any. */
	private refreshing: Promise<void> | undefined;
	private failedLogins = 0;
	private loginNotBefore = 0;

	/** Set when no request can succeed any more: a refused token or a failed login. */
	fatal: Failure | undefined;

	constructor(
		private readonly shared: ICredentialDataDecryptedObject,
		readonly loginMode: boolean,
		private readonly settings: TransportSettings,
	) {}

	/** Forgets `tokenUsed` unless another request has already replaced it. */
	invalidate(tokenUsed: string): void {
		if (this.loginMode && this.shared[SESSION_TOKEN_PROPERTY] === tokenUsed) {
			this.shared[SESSION_TOKEN_PROPERTY] = '';
		}
	}

	/**
	 * Runs one attempt with a copy of the credentials; tells which token it was sent with.
	 * Undefined when `halt` aborted while waiting for the next login.
	 */
	async send(
		attempt: (credentials: ICredentialDataDecryptedObject) => Promise<Attempt>,
		halt: AbortSignal,
	): Promise<SessionAttempt | undefined> {
		for (;;) {
			if (this.fatal)
				return { attempt: { kind: 'error', failure: this.fatal, retryable: false }, tokenUsed: '' };
			if (this.refreshing) {
				await this.refreshing;
				continue;
			}
			const credentials = { ...this.shared };
			const loggingIn = this.loginMode && bearerTokenOf(credentials) === '';
			if (loggingIn && this.loginNotBefore > Date.now()) {
				await pause(this.loginNotBefore - Date.now(), halt);
				if (halt.aborted) return undefined;
				continue;
			}
			const sending = attempt(credentials);
			if (loggingIn) {
				const login = this.followLogin(sending, credentials);
				this.refreshing = login.then(() => undefined);
				const loginFailed = await login;
				this.refreshing = undefined;
				if (loginFailed) continue;
			}
			return { attempt: await sending, tokenUsed: bearerTokenOf(credentials) };
		}
	}

	/** Keeps the token a login fetched, or counts the failed login; true when it failed. */
	private async followLogin(
		sending: Promise<Attempt>,
		credentials: ICredentialDataDecryptedObject,
	): Promise<boolean> {
		const attempt = await sending;
		if (attempt.kind !== 'error' || attempt.failure.kind !== 'login') {
			const token = credentials[SESSION_TOKEN_PROPERTY];
			if (typeof token === 'string' && token !== '') this.shared[SESSION_TOKEN_PROPERTY] = token;
			this.failedLogins = 0;
			return false;
		}
		const { failure } = attempt;
		this.failedLogins++;
		const waitMs = failure.retryAfterMs ?? backoffMs(this.failedLogins - 1);
		if (!attempt.retryable || this.failedLogins > this.settings.maxRetries) {
			const tries =
				this.failedLogins === 1 ? '1 login attempt' : `${this.failedLogins} login attempts`;
			this.fatal ??= { ...failure, message: `${failure.message} (${tries})` };
		} else if (waitMs > this.settings.maxWaitMs) {
			const resumeAt = new Date(Date.now() + waitMs).toISOString();
			const wait = `Twin24 asks to wait ${Math.ceil(waitMs / 1000)} s before the next login (until ${resumeAt}), longer than Max Wait (${this.settings.maxWaitMs / 1000} s).`;
			this.fatal ??= { ...failure, message: `${failure.message} ${wait}` };
		} else {
			this.loginNotBefore = Date.now() + waitMs;
		}
		return true;
	}
}

/**
 * Concurrency: an item holds a slot while it is read, waits for its turn and is in flight, but
 * not while it waits out a Retry-After or a backoff. Otherwise a burst of 429s, one per slot,
 * would leave nothing to send for a whole Retry-After.
 */
class ConcurrencySlots {
	private free: number;
	private readonly waiting: Array<(taken: boolean) => void> = [];
	private closed = false;

	constructor(size: number) {
		this.free = size;
	}

	/** Takes a free slot at once, without yielding, so that a free slot changes no order. */
	tryTake(): boolean {
		if (this.closed || this.free === 0) return false;
		this.free--;
		return true;
	}

	/** Resolves true with the next slot given back, or false once the slots are closed. */
	async wait(): Promise<boolean> {
		if (this.closed) return false;
		return await new Promise<boolean>((resolve) => this.waiting.push(resolve));
	}

	give(): void {
		if (this.closed) return;
		const next = this.waiting.shift();
		if (next) next(true);
		else this.free++;
	}

	close(): void {
		this.closed = true;
		for (const waiter of this.waiting.splice(0)) waiter(false);
	}
}

/**
 * Everything that crosses the network: URLs, authentication, retries, pacing, cancellation and
 * turning what came back into a Failure. One client serves one execution of the node; the pace
 * is shared by every execution in this process that uses the same account.
 */
export class Twin24Client {
	readonly stats: TransportStats = { requests: 0, retries: 0, rateLimited: 0 };

	/** Aborted by stop() or by the execution's cancel signal: no request starts after it. */
	private readonly halt = new AbortController();

	private readonly haltOnCancel = () => this.halt.abort();

	/**
	 * One signal per request waiting for its turn, all aborted with `halt`: up to 50 waiters
	 * listening on one signal would set off Node's listener-leak warning.
	 */
	private readonly turnWaits = new Set<AbortController>();

	private readonly slots: ConcurrencySlots;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly session: TokenSession,
		private readonly settings: TransportSettings,
		readonly cisBaseUrl: string,
		private readonly pace: PaceHandle,
		private readonly cancelSignal: AbortSignal | undefined,
	) {
		this.slots = new ConcurrencySlots(settings.concurrency);
		this.halt.signal.addEventListener(
			'abort',
			() => {
				this.slots.close();
				this.turnWaits.forEach((wait) => wait.abort());
			},
			{
				once: true,
			},
		);
		if (cancelSignal?.aborted) this.halt.abort();
		cancelSignal?.addEventListener('abort', this.haltOnCancel, { once: true });
	}

	/** Reads and checks the credential; throws a clear error before anything is sent. */
	static async open(ctx: IExecuteFunctions, settings: TransportSettings): Promise<Twin24Client> {
		const credentials = await ctx.getCredentials<ICredentialDataDecryptedObject>(CREDENTIAL_TYPE);
		const loginMode = credentials.authMode === 'emailPassword';
		const cisBaseUrl = usableBaseUrl(
			ctx,
			checkBaseUrl(credentials.cisBaseUrl, 'CIS Base URL', DEFAULT_CIS_BASE_URL),
		);
		if (loginMode) {
			usableBaseUrl(
				ctx,
				checkBaseUrl(credentials.iamBaseUrl, 'IAM Base URL', DEFAULT_IAM_BASE_URL),
			);
		}
		if (!loginMode && bearerTokenOf(credentials) === '') {
			throw new NodeOperationError(ctx.getNode(), 'The Twin24 credential has no access token', {
				description: 'Nothing was sent. Paste an access token into the Twin24 credential.',
			});
		}
		const session = new TokenSession(credentials, loginMode, settings);
		const credentialId = ctx.getNode().credentials?.[CREDENTIAL_TYPE]?.id ?? '';
		const pace = acquirePacer(`${credentialId} ${cisBaseUrl}`);
		return new Twin24Client(ctx, session, settings, cisBaseUrl, pace, executionCancelSignal(ctx));
	}

	url(path: readonly string[]): string {
		return joinUrl(this.cisBaseUrl, path);
	}

	/** Whether the execution was cancelled (Stop, workflow timeout). */
	get cancelled(): boolean {
		return this.cancelSignal?.aborted === true;
	}

	/** Stops the run: requests not yet sent are not sent; those in flight finish. */
	stop(): void {
		this.halt.abort();
	}

	/** How many requests this run may still send: the shared pace stops probing near the end. */
	expectRequests(count: number): void {
		this.pace.setBacklog(count);
	}

	/** Lets go of the shared pace and the cancel signal; the client sends nothing afterwards. */
	close(): void {
		this.halt.abort();
		this.cancelSignal?.removeEventListener('abort', this.haltOnCancel);
		this.pace.release();
	}

	private get pacer(): Pacer {
		return this.pace.pacer;
	}

	/** Sends one request, retrying only this request, and only where that is safe. */
	async send(request: PlannedRequest, itemIndex: number): Promise<SendResult> {
		const tally: Tally = {
			attempts: 0,
			retries: 0,
			troubleRetries: 0,
			rateLimitedSince: undefined,
			mayHaveBeenCarriedOut: false,
		};
		const failed = (failure: Failure): SendResult => {
			const { attempts, retries } = tally;
			return { outcome: 'failed', failure, attempts, retries };
		};
		let loggedInAgain = false;
		for (;;) {
			const turn = await this.turn();
			if (typeof turn !== 'number') return failed(turn);
			const sent = await this.session.send(
				async (credentials) => await this.attempt(request, credentials),
				this.halt.signal,
			);
			if (sent === undefined) return failed(this.haltFailure());
			const { attempt, tokenUsed } = sent;
			if (attempt.kind !== 'error' || attempt.failure.kind !== 'login') tally.attempts++;
			// n8n aborts the requests in flight when the execution is cancelled.
			if (attempt.kind === 'error' && this.cancelled) return failed({ kind: 'cancelled' });
			if (attempt.kind === 'success') {
				this.pacer.onSuccess(turn, attempt.headers);
				return { outcome: 'done', confirmedAt: new Date().toISOString(), attempts: tally.attempts };
			}
			if (attempt.kind === 'response' && attempt.statusCode !== 429) {
				this.pacer.onSuccess(turn, attempt.headers);
			}
			if (attempt.kind === 'response' && attempt.statusCode === 401) {
				if (this.session.loginMode && !loggedInAgain) {
					loggedInAgain = true;
					this.session.invalidate(tokenUsed);
					continue;
				}
				this.session.fatal ??= {
					kind: 'tokenRefused',
					statusCode: 401,
					apiMessage: attempt.apiMessage,
				};
				return failed(this.session.fatal);
			}
			if (attempt.kind === 'response' && attempt.statusCode === 404) {
				return {
					outcome: 'notFound',
					confirmedAt: new Date().toISOString(),
					attempts: tally.attempts,
					answerLost: tally.mayHaveBeenCarriedOut,
					failure: { kind: 'http', statusCode: 404, apiMessage: attempt.apiMessage },
					retries: tally.retries,
				};
			}
			const { failure, waitMs } = this.judge(attempt, tally.troubleRetries, turn);
			if (mayHaveBeenCarriedOut(failure)) tally.mayHaveBeenCarriedOut = true;
			if (waitMs === undefined || !this.mayRetry(failure, tally)) return failed(failure);
			tally.retries++;
			this.stats.retries++;
			this.ctx.logger.debug(
				`Twin24: retrying item ${itemIndex} after ${describeFailure(failure)} (retry ${tally.retries} of ${this.settings.maxRetries})`,
			);
			if (waitMs > 0 && !(await this.waitOutsideSlot(waitMs))) return failed(this.haltFailure());
		}
	}

	/** Takes a slot to work on an item at once if one is free, without yielding. */
	tryTakeSlot(): boolean {
		return this.slots.tryTake();
	}

	/** Waits for a slot to work on an item; false once the run stopped. */
	async waitForSlot(): Promise<boolean> {
		return await this.slots.wait();
	}

	giveSlot(): void {
		this.slots.give();
	}

	/** Waits before a retry with the item's slot given to another item; false if the run stopped. */
	private async waitOutsideSlot(waitMs: number): Promise<boolean> {
		this.slots.give();
		await pause(waitMs, this.halt.signal);
		return this.slots.tryTake() || (await this.slots.wait());
	}

	/**
	 * Whether a failed request may be sent again, counting the retry. A shared limit may refuse
	 * one request several times while its window drains, so 429s are bounded by time (Max Wait
	 * from the first one), the other retryable failures by number (Max Retries).
	 */
	private mayRetry(failure: Failure, tally: Tally): boolean {
		if (failure.kind === 'http' && failure.statusCode === 429) {
			tally.rateLimitedSince ??= Date.now();
			return Date.now() - tally.rateLimitedSince <= this.settings.maxWaitMs;
		}
		if (tally.troubleRetries >= this.settings.maxRetries) return false;
		tally.troubleRetries++;
		return true;
	}

	/**
	 * Waits for the pace to let a request through; returns when it was let through, or why it may
	 * not go: the run stopped, or Twin24 asked for a longer wait than the node may make.
	 */
	private async turn(): Promise<number | Failure> {
		for (;;) {
			if (this.session.fatal) return this.session.fatal;
			if (this.halt.signal.aborted) return this.haltFailure();
			const pausedForMs = this.pacer.pausedUntil - Date.now();
			if (pausedForMs > this.settings.maxWaitMs) {
				return waitTooLong(429, pausedForMs, this.settings.maxWaitMs);
			}
			const sentAt = await this.waitForTurn();
			if (sentAt === undefined || this.halt.signal.aborted) return this.haltFailure();
			// A 429 that came back while this request waited may have pushed the pause further.
			if (this.pacer.pausedUntil <= Date.now()) return sentAt;
		}
	}

	private async waitForTurn(): Promise<number | undefined> {
		if (this.halt.signal.aborted) return undefined;
		const wait = new AbortController();
		this.turnWaits.add(wait);
		try {
			return await this.pacer.waitForTurn(wait.signal);
		} finally {
			this.turnWaits.delete(wait);
		}
	}

	private haltFailure(): Failure {
		return this.cancelled ? { kind: 'cancelled' } : { kind: 'notSent' };
	}

	/** The failure an attempt shows, and how long to wait before retrying it (undefined: never). */
	private judge(
		attempt: Exclude<Attempt, { kind: 'success' }>,
		retries: number,
		sentAt: number,
	): { failure: Failure; waitMs?: number } {
		if (attempt.kind === 'error') {
			return {
				failure: attempt.failure,
				waitMs: attempt.retryable ? backoffMs(retries) : undefined,
			};
		}
		const { statusCode, headers, apiMessage } = attempt;
		const location = typeof headers.location === 'string' ? headers.location : undefined;
		const failure: Failure = { kind: 'http', statusCode, apiMessage, location };
		if (!RETRYABLE_STATUSES.has(statusCode)) return { failure };
		const retryAfterMs = parseRetryAfter(headers['retry-after']);
		if (statusCode === 429) {
			this.stats.rateLimited++;
			this.pacer.onRateLimited(sentAt, retryAfterMs, headers);
		}
		if (retryAfterMs !== undefined && retryAfterMs > this.settings.maxWaitMs) {
			return { failure: waitTooLong(statusCode, retryAfterMs, this.settings.maxWaitMs) };
		}
		// After a 429 the shared pace holds every request back; the refused one also waits out its
		// own Retry-After, which the pace may take for a mere slowdown when it is a second or less.
		if (statusCode === 429) return { failure, waitMs: retryAfterMs ?? 0 };
		return { failure, waitMs: Math.max(backoffMs(retries), retryAfterMs ?? 0) };
	}

	private async attempt(
		request: PlannedRequest,
		credentials: ICredentialDataDecryptedObject,
	): Promise<Attempt> {
		this.stats.requests++;
		const startedAt = Date.now();
		try {
			const response = (await this.ctx.helpers.httpRequestWithAuthentication.call(
				this.ctx,
				CREDENTIAL_TYPE,
				{
					method: request.method,
					url: request.url,
					body: request.body,
					json: true,
					encoding: 'stream',
					returnFullResponse: true,
					ignoreHttpStatusErrors: true,
					disableFollowRedirect: true,
					timeout: this.settings.timeoutMs,
				},
				{ credentialsDecrypted: this.credentialsReference(credentials) },
			)) as { statusCode: number; headers: Headers; body: ResponseStream };
			const { statusCode, headers } = response;
			// Success needs no body; reading one could only turn a done erasure into a retry.
			if (statusCode >= 200 && statusCode < 300) {
				response.body.destroy();
				return { kind: 'success', headers };
			}
			const remainingMs = Math.max(1, this.settings.timeoutMs - (Date.now() - startedAt));
			const body = await readCapped(response.body, AbortSignal.timeout(remainingMs));
			if (!body.ok) return { kind: 'error', failure: body.failure, retryable: body.retryable };
			const apiMessage = apiMessageOf(redact(body.text, secretsOf(credentials)));
			return { kind: 'response', statusCode, headers, apiMessage };
		} catch (error) {
			return { kind: 'error', ...failureOfThrown(error) };
		}
	}

	/** The credential as n8n-core expects it, with this request's copy of the data. */
	private credentialsReference(data: ICredentialDataDecryptedObject) {
		const reference = this.ctx.getNode().credentials?.[CREDENTIAL_TYPE];
		return { id: reference?.id ?? '', name: reference?.name ?? '', type: CREDENTIAL_TYPE, data };
	}
}

export type { Failure, FailureContext } from './errors';
export { describeFailure, toNodeError } from './errors';
