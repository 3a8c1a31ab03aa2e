import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	CREDENTIAL_TYPE,
	DEFAULT_CIS_BASE_URL,
	DEFAULT_IAM_BASE_URL,
	bearerTokenOf,
	checkBaseUrl,
	joinUrl,
	secretsOf,
} from './account';
import type { Failure } from './failures';
import { failureOfThrown, waitTooLong } from './failures';
import type { Attempt, Headers, PlannedRequest, ResponseStream } from './http';
import { apiMessageOf, readCapped, redact, requestOptions } from './http';
import type { PaceHandle } from './pacing/registry';
import { acquirePace } from './pacing/registry';
import type { Ticket } from './pacing/scheduler';
import { pause } from './pacing/scheduler';
import type { Signal } from './pacing/signals';
import { SILENT, parseRetryAfter, readSignal } from './pacing/signals';
import type { RetryLimits, SendResult } from './retryPolicy';
import { RequestTries } from './retryPolicy';
import type { TokenUse } from './session';
import { TokenSession } from './session';

export interface TransportSettings extends RetryLimits {
	timeoutMs: number;
}

/**
 * The Concurrency slot an item's request holds. The request gives it back while it waits out a
 * Retry-After or a backoff, so that a burst of 429s (one per slot) does not leave nothing to send
 * for a whole Retry-After, and takes one again before it goes on.
 */
export interface Slot {
	give(): void;
	/** Resolves false once the run ended: nothing more is sent. */
	take(): Promise<boolean>;
}

/** The item a request is sent for. */
export interface SendingItem {
	index: number;
	slot: Slot;
	/** An earlier run's attempt may have been carried out: a 404 then means done. */
	mayBeDone: boolean;
}

/** The execution's cancel signal (Stop, workflow timeout), on n8n versions that have one. */
export function executionCancelSignal(ctx: IExecuteFunctions): AbortSignal | undefined {
	const withSignal = ctx as Partial<Pick<IExecuteFunctions, 'getExecutionCancelSignal'>>;
	return withSignal.getExecutionCancelSignal?.call(ctx);
}

/** A credential field's base URL, checked; throws, saying how to fix it, when it is unusable. */
function usableUrl(ctx: IExecuteFunctions, value: unknown, label: string, example: string): string {
	const check = checkBaseUrl(value, label, example);
	if (check.ok) return check.url;
	throw new NodeOperationError(ctx.getNode(), check.message, {
		description: 'Nothing was sent. Open the Twin24 credential and correct the URL.',
	});
}

/** A failure's kind for the log: its status or code, nothing it was told. */
function kindOf(failure: Failure): string {
	if ('statusCode' in failure) return `HTTP ${failure.statusCode}`;
	return failure.kind === 'network' ? failure.code : failure.kind;
}

function httpFailure(attempt: Extract<Attempt, { kind: 'response' }>): Failure {
	const { statusCode, headers, apiMessage } = attempt;
	const location = typeof headers.location === 'string' ? headers.location : undefined;
	return { kind: 'http', statusCode, apiMessage, location };
}

/**
 * Everything that crosses the network: URLs, authentication, retries, pacing, cancellation and
 * turning what came back into a Failure. One client serves one run of the node; its pace is the
 * account's, shared by every run in this process that uses it.
 */
export class Twin24Client {
	readonly stats = { requests: 0, retries: 0, rateLimited: 0 };

	/**
	 * One signal per request waiting for its turn, all aborted with the run's: up to 50 waiters
	 * listening on one signal would set off Node's listener-leak warning.
	 */
	private readonly turnWaits = new Set<AbortController>();

	private readonly endTurnWaits = () => this.turnWaits.forEach((wait) => wait.abort());

	private readonly pace: PaceHandle;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly session: TokenSession,
		private readonly settings: TransportSettings,
		private readonly cisBaseUrl: string,
		/** The Twin24 account: the saved credential and the CIS Base URL it points at. */
		readonly account: string,
		/** Ends the run's sending: no request starts after it, and every wait ends. */
		private readonly signal: AbortSignal,
	) {
		this.pace = acquirePace(account);
		signal.addEventListener('abort', this.endTurnWaits, { once: true });
	}

	/** Reads and checks the credential; throws a clear error before anything is sent. */
	static async open(
		ctx: IExecuteFunctions,
		settings: TransportSettings,
		signal: AbortSignal,
	): Promise<Twin24Client> {
		const credentials = await ctx.getCredentials<ICredentialDataDecryptedObject>(CREDENTIAL_TYPE);
		const loginMode = credentials.authMode === 'emailPassword';
		const cisBaseUrl = usableUrl(ctx, credentials.cisBaseUrl, 'CIS Base URL', DEFAULT_CIS_BASE_URL);
		if (loginMode) {
			usableUrl(ctx, credentials.iamBaseUrl, 'IAM Base URL', DEFAULT_IAM_BASE_URL);
		} else if (bearerTokenOf(credentials) === '') {
			throw new NodeOperationError(ctx.getNode(), 'The Twin24 credential has no access token', {
				description: 'Nothing was sent. Paste an access token into the Twin24 credential.',
			});
		}
		const session = new TokenSession(credentials, loginMode, settings, signal);
		const credentialId = ctx.getNode().credentials?.[CREDENTIAL_TYPE]?.id ?? '';
		const account = `${credentialId} ${cisBaseUrl}`;
		return new Twin24Client(ctx, session, settings, cisBaseUrl, account, signal);
	}

	url(path: readonly string[]): string {
		return joinUrl(this.cisBaseUrl, path);
	}

	/** How many requests this run may still send: the shared pace stops probing near the end. */
	setBacklog(count: number): void {
		this.pace.setBacklog(count);
	}

	/** Lets go of the shared pace; the client sends nothing afterwards. */
	close(): void {
		this.signal.removeEventListener('abort', this.endTurnWaits);
		this.pace.release();
	}

	/** Sends one request, retrying only this request, and only where that is safe. */
	async send(request: PlannedRequest, item: SendingItem): Promise<SendResult> {
		const tries = new RequestTries(this.settings, item.mayBeDone);
		for (;;) {
			const ticket = await this.turn(tries);
			if ('outcome' in ticket) return ticket;
			const use = await this.session.withToken((credentials) => this.attempt(request, credentials));
			const signal = this.signalOf(use);
			if (signal.kind === 'refused') this.stats.rateLimited++;
			this.pace.scheduler.answered(ticket, signal);
			if (use.kind === 'interrupted') return tries.interrupted();
			if (use.kind === 'unusable') return tries.failed(use.failure);
			const result = await this.afterAttempt(use, tries, item);
			if (result !== undefined) return result;
		}
	}

	/** What an attempt says about the account's limit: the one reading is in pacing/signals. */
	private signalOf(use: TokenUse): Signal {
		if (use.kind !== 'sent' || use.attempt.kind === 'error') return SILENT;
		return readSignal(use.attempt.statusCode, use.attempt.headers, Date.now());
	}

	/** The request's result after one attempt; undefined when it goes again (new login, retry). */
	private async afterAttempt(
		{ attempt, tokenUsed }: Extract<TokenUse, { kind: 'sent' }>,
		tries: RequestTries,
		item: SendingItem,
	): Promise<SendResult | undefined> {
		tries.count(attempt);
		// n8n aborts the requests in flight when the execution is cancelled; Twin24 may have them.
		if (attempt.kind === 'error' && executionCancelSignal(this.ctx)?.aborted === true) {
			return tries.interrupted(true);
		}
		if (attempt.kind === 'success') return tries.done();
		if (attempt.kind === 'response' && attempt.statusCode === 401) {
			if (this.session.loginMode && tries.mayLogInAgain()) {
				this.session.invalidate(tokenUsed);
				return undefined;
			}
			const { apiMessage } = attempt;
			const refused: Failure = { kind: 'tokenRefused', statusCode: 401, apiMessage };
			return tries.failed(this.session.markUnusable(refused));
		}
		const failure = attempt.kind === 'error' ? attempt.failure : httpFailure(attempt);
		if (attempt.kind === 'response' && attempt.statusCode === 404) return tries.notFound(failure);
		const retryAfterMs =
			attempt.kind === 'response' ? parseRetryAfter(attempt.headers['retry-after']) : undefined;
		const waitMs = tries.afterFailure(failure, retryAfterMs);
		if (typeof waitMs !== 'number') return waitMs;
		this.stats.retries++;
		this.ctx.logger.debug(
			`Twin24: retrying item ${item.index} after ${kindOf(failure)} (retry ${tries.retries} of ${this.settings.maxRetries})`,
		);
		const waited = waitMs <= 0 || (await this.waitOutsideSlot(waitMs, item.slot));
		return waited ? undefined : tries.interrupted();
	}

	/** Waits before a retry with the item's slot given to another item; false if the run ended. */
	private async waitOutsideSlot(waitMs: number, slot: Slot): Promise<boolean> {
		slot.give();
		await pause(waitMs, this.signal);
		return await slot.take();
	}

	/**
	 * Waits for the pace's turn and gives its ticket; or the request's result when the run ended, no
	 * request can succeed any more, or Twin24 asked for a wait beyond Max Wait.
	 */
	private async turn(tries: RequestTries): Promise<Ticket | SendResult> {
		if (this.session.unusable) return tries.failed(this.session.unusable);
		if (this.signal.aborted) return tries.interrupted();
		const wait = new AbortController();
		this.turnWaits.add(wait);
		try {
			const turn = await this.pace.scheduler.turn(wait.signal, this.settings.maxWaitMs);
			if (turn.kind === 'paused') {
				const tooLong = waitTooLong(turn.until - Date.now(), this.settings.maxWaitMs);
				return tries.failed({ kind: 'waitTooLong', statusCode: turn.statusCode, ...tooLong });
			}
			if (turn.kind === 'cancelled') return tries.interrupted();
			if (!this.signal.aborted) return turn.ticket;
			this.pace.scheduler.answered(turn.ticket, SILENT);
			return tries.interrupted();
		} finally {
			this.turnWaits.delete(wait);
		}
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
				{ ...requestOptions(request, this.settings.timeoutMs), encoding: 'stream' },
				{ credentialsDecrypted: this.credentialsReference(credentials) },
			)) as { statusCode: number; headers: Headers; body: ResponseStream };
			const { statusCode, headers } = response;
			// Success needs no body; reading one could only turn a done erasure into a retry.
			if (statusCode >= 200 && statusCode < 300) {
				response.body.destroy();
				return { kind: 'success', statusCode, headers };
			}
			const remainingMs = Math.max(1, this.settings.timeoutMs - (Date.now() - startedAt));
			const body = await readCapped(response.body, AbortSignal.timeout(remainingMs));
			if (typeof body !== 'string') return { kind: 'error', failure: body };
			const apiMessage = apiMessageOf(redact(body, secretsOf(credentials)));
			return { kind: 'response', statusCode, headers, apiMessage };
		} catch (error) {
			return { kind: 'error', failure: failureOfThrown(error) };
		}
	}

	/** The credential as n8n-core expects it, with this request's copy of the data. */
	private credentialsReference(data: ICredentialDataDecryptedObject) {
		const reference = this.ctx.getNode().credentials?.[CREDENTIAL_TYPE];
		return { id: reference?.id ?? '', name: reference?.name ?? '', type: CREDENTIAL_TYPE, data };
	}
}
