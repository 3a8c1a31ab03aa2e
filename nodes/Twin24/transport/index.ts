import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	JsonObject,
} from 'n8n-workflow';
import { NodeOperationError, sleep } from 'n8n-workflow';

import {
	CREDENTIAL_TYPE,
	SESSION_TOKEN_PROPERTY,
	bearerTokenOf,
} from '../../../credentials/Twin24Api.credentials';
import type { Failure } from './errors';
import { describeFailure, failureOfThrown } from './errors';
import type { Pacer } from './pacer';
import { acquirePacer } from './pacer';
import type { BaseUrlCheck } from './protocol';
import {
	DEFAULT_CIS_BASE_URL,
	DEFAULT_IAM_BASE_URL,
	apiMessageOf,
	checkBaseUrl,
	joinUrl,
	redact,
	secretsOf,
} from './protocol';

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

const BACKOFF_BASE_MS = 250;
const RELEASE_AFTER_TICKS = 20;
const BACKOFF_CAP_MS = 10000;
const RETRY_AFTER_CAP_MS = 60000;
/** Error bodies are read up to this size; the rest is dropped unread. */
const MAX_BODY_BYTES = 64 * 1024;

export interface TransportSettings {
	maxRetries: number;
	timeoutMs: number;
}

export interface PlannedRequest {
	method: IHttpRequestMethods;
	url: string;
	body?: JsonObject;
}

export type SendResult = { ok: true } | { ok: false; failure: Failure; retries: number };

/** The response body as the HTTP client hands it over with `encoding: 'stream'`. */
interface ResponseStream extends AsyncIterable<unknown> {
	destroy(): void;
}

type Attempt =
	| { kind: 'success'; headers: Record<string, unknown> }
	| {
			kind: 'response';
			statusCode: number;
			headers: Record<string, unknown>;
			retryAfter?: string;
			location?: string;
			apiMessage?: string;
	  }
	| { kind: 'error'; failure: Failure; retryable: boolean };

export interface TransportStats {
	requests: number;
	retries: number;
	rateLimited: number;
}

type BodyRead = { ok: true; text: string } | { ok: false; failure: Failure; retryable: boolean };

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

function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
	const value = headers[name];
	return typeof value === 'string' ? value : undefined;
}

/** Retry-After as milliseconds to wait: delta-seconds or an HTTP date, capped. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const trimmed = value.trim();
	const milliseconds = /^\d+(\.\d+)?$/.test(trimmed)
		? Number(trimmed) * 1000
		: Date.parse(trimmed) - now;
	if (Number.isNaN(milliseconds)) return undefined;
	return Math.min(Math.max(0, milliseconds), RETRY_AFTER_CAP_MS);
}

/** Exponential backoff with jitter: half of the step is fixed, half random. */
function backoffMs(retry: number): number {
	const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
	return step / 2 + Math.random() * (step / 2);
}

function usableBaseUrl(ctx: IExecuteFunctions, check: BaseUrlCheck): string {
	if (check.ok) return check.url;
	throw new NodeOperationError(ctx.getNode(), check.message, {
		description: 'Nothing was sent. Open the Twin24 credential and correct the URL.',
	});
}

/**
 * The bearer token of one run. Each request is sent with its own copy of the credential data,
 * so a token cleared by one request never empties the header of another in flight. In login
 * mode the request that finds no token logs in (through the credential's preAuthentication)
 * while the others wait and then share the new token, or share the failed login's error.
 */
class TokenSession {
	/** The login in progress; settles with its failed attempt, or undefined once it succeeded. */
	private refreshing: Promise<Attempt | undefined> | undefined;

	/** Set when no request can succeed any more: a refused token or a failed login. */
	fatal: Failure | undefined;

	constructor(
		private readonly shared: ICredentialDataDecryptedObject,
		readonly loginMode: boolean,
	) {}

	/** Forgets `tokenUsed` unless another request has already replaced it. */
	invalidate(tokenUsed: string): void {
		if (this.loginMode && this.shared[SESSION_TOKEN_PROPERTY] === tokenUsed) {
			this.shared[SESSION_TOKEN_PROPERTY] = '';
		}
	}

	/** Runs one attempt with a copy of the credentials; tells which token it was sent with. */
	async send(
		attempt: (credentials: ICredentialDataDecryptedObject) => Promise<Attempt>,
	): Promise<{ attempt: Attempt; tokenUsed: string }> {
		while (this.refreshing) {
			const failedLogin = await this.refreshing;
			if (failedLogin) return { attempt: failedLogin, tokenUsed: '' };
		}
		const credentials = { ...this.shared };
		const sending = attempt(credentials);
		if (this.loginMode && bearerTokenOf(credentials) === '') this.shareLogin(sending, credentials);
		return { attempt: await sending, tokenUsed: bearerTokenOf(credentials) };
	}

	private shareLogin(sending: Promise<Attempt>, credentials: ICredentialDataDecryptedObject): void {
		const settled = sending.then((attempt) => {
			if (attempt.kind === 'error' && attempt.failure.kind === 'login') return attempt;
			const token = credentials[SESSION_TOKEN_PROPERTY];
			if (typeof token === 'string' && token !== '') this.shared[SESSION_TOKEN_PROPERTY] = token;
			return undefined;
		});
		this.refreshing = settled;
		void settled.then(() => {
			if (this.refreshing === settled) this.refreshing = undefined;
		});
	}
}

/**
 * Everything that crosses the network: URLs, authentication, retries, pacing and turning what
 * came back into a Failure. One client serves one execution of the node.
 */
export class Twin24Client {
	readonly stats: TransportStats = { requests: 0, retries: 0, rateLimited: 0 };

	private stopped = false;

	/** The account's shared pace, held while this client has requests in progress. */
	private pacerHandle: { pacer: Pacer; release(): void } | undefined;
	private sendsInProgress = 0;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly session: TokenSession,
		private readonly settings: TransportSettings,
		readonly cisBaseUrl: string,
	) {}

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
		const session = new TokenSession(credentials, loginMode);
		if (!loginMode && bearerTokenOf(credentials) === '') {
			throw new NodeOperationError(ctx.getNode(), 'The Twin24 credential has no access token', {
				description: 'Nothing was sent. Paste an access token into the Twin24 credential.',
			});
		}
		return new Twin24Client(ctx, session, settings, cisBaseUrl);
	}

	url(path: readonly string[]): string {
		return joinUrl(this.cisBaseUrl, path);
	}

	/** Stops the run: requests not yet sent are not sent; those in flight finish. */
	stop(): void {
		this.stopped = true;
	}

	/** Sends one request, retrying only this request, and only where that is safe. */
	async send(request: PlannedRequest, itemIndex: number): Promise<SendResult> {
		this.sendsInProgress++;
		try {
			return await this.sendPaced(request, itemIndex, this.holdPacer());
		} finally {
			this.sendsInProgress--;
			if (this.sendsInProgress === 0) void this.releaseIdlePacer();
		}
	}

	private holdPacer(): Pacer {
		const accountKey = `${this.ctx.getNode().credentials?.[CREDENTIAL_TYPE]?.id ?? ''} ${this.cisBaseUrl}`;
		this.pacerHandle ??= acquirePacer(accountKey);
		return this.pacerHandle.pacer;
	}

	/**
	 * The next item's send starts a few microtasks after the last one ended; only when none has
	 * by then is the run over (no timer, so the run's end releases at once).
	 */
	private async releaseIdlePacer(): Promise<void> {
		for (let tick = 0; tick < RELEASE_AFTER_TICKS; tick++) await Promise.resolve();
		if (this.sendsInProgress > 0) return;
		this.pacerHandle?.release();
		this.pacerHandle = undefined;
	}

	private async sendPaced(
		request: PlannedRequest,
		itemIndex: number,
		pacer: Pacer,
	): Promise<SendResult> {
		let retries = 0;
		let loggedInAgain = false;
		for (;;) {
			if (this.session.fatal) return { ok: false, failure: this.session.fatal, retries };
			const sentAt = await pacer.waitForTurn();
			if (this.stopped || sentAt === undefined)
				return { ok: false, failure: { kind: 'notSent' }, retries };
			const { attempt, tokenUsed } = await this.session.send(
				async (credentials) => await this.attempt(request, credentials),
			);
			if (attempt.kind === 'success') {
				pacer.onSuccess(sentAt, attempt.headers);
				return { ok: true };
			}
			if (attempt.kind === 'response' && attempt.statusCode !== 429 && attempt.statusCode < 500)
				pacer.onSuccess(sentAt, attempt.headers);
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
				return { ok: false, failure: this.session.fatal, retries };
			}
			const { failure, waitMs } = this.judge(attempt, retries, sentAt, pacer);
			if (waitMs === undefined || retries >= this.settings.maxRetries) {
				// A login refused, or failing after all retries, would fail for every other item too.
				if (failure.kind === 'login') this.session.fatal ??= failure;
				return { ok: false, failure, retries };
			}
			retries++;
			this.stats.retries++;
			this.ctx.logger.debug(
				`Twin24: retrying item ${itemIndex} after ${describeFailure(failure)} (retry ${retries} of ${this.settings.maxRetries})`,
			);
			if (waitMs > 0) await sleep(waitMs);
		}
	}

	/** The failure an attempt shows, and how long to wait before retrying it (undefined: never). */
	private judge(
		attempt: Exclude<Attempt, { kind: 'success' }>,
		retries: number,
		sentAt: number,
		pacer: Pacer,
	): { failure: Failure; waitMs?: number } {
		if (attempt.kind === 'error') {
			return {
				failure: attempt.failure,
				waitMs: attempt.retryable ? backoffMs(retries) : undefined,
			};
		}
		const failure: Failure = {
			kind: 'http',
			statusCode: attempt.statusCode,
			apiMessage: attempt.apiMessage,
			location: attempt.location,
		};
		if (attempt.statusCode === 429) {
			this.stats.rateLimited++;
			const retryAfterMs = parseRetryAfter(attempt.retryAfter);
			pacer.onRateLimited(sentAt, retryAfterMs, attempt.headers);
			return { failure, waitMs: 0 };
		}
		return {
			failure,
			waitMs: RETRYABLE_STATUSES.has(attempt.statusCode) ? backoffMs(retries) : undefined,
		};
	}

	private async attempt(
		request: PlannedRequest,
		credentials: ICredentialDataDecryptedObject,
	): Promise<Attempt> {
		if (this.session.fatal) return { kind: 'error', failure: this.session.fatal, retryable: false };
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
			)) as { statusCode: number; headers: Record<string, unknown>; body: ResponseStream };
			// Success needs no body; reading one could only turn a done erasure into a retry.
			if (response.statusCode >= 200 && response.statusCode < 300) {
				response.body.destroy();
				return { kind: 'success', headers: response.headers };
			}
			const remainingMs = Math.max(1, this.settings.timeoutMs - (Date.now() - startedAt));
			const body = await readCapped(response.body, AbortSignal.timeout(remainingMs));
			if (!body.ok) return { kind: 'error', failure: body.failure, retryable: body.retryable };
			return {
				kind: 'response',
				statusCode: response.statusCode,
				headers: response.headers,
				retryAfter: headerValue(response.headers, 'retry-after'),
				location: headerValue(response.headers, 'location'),
				apiMessage: apiMessageOf(redact(body.text, secretsOf(credentials))),
			};
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
