import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { SESSION_TOKEN_PROPERTY, bearerTokenOf } from './account';
import type { Failure } from './failures';
import { waitTooLong } from './failures';
import type { Attempt } from './http';
import { pause } from './pacing/scheduler';
import type { RetryLimits } from './retryPolicy';
import { backoffMs } from './retryPolicy';

/** What became of one use of the token: the attempt it was sent with, or why none went out. */
export type TokenUse =
	| { kind: 'sent'; attempt: Attempt; /** '' for none */ tokenUsed: string }
	/** No request can succeed any more: a refused token or a failed login. */
	| { kind: 'unusable'; failure: Failure }
	/** The signal ended the wait for the next login. */
	| { kind: 'interrupted' };

/**
 * The bearer token of one run. Each request is sent with its own copy of the credential data,
 * so a token cleared by one request never empties the header of another in flight. In login
 * mode the request that finds no token logs in (through the credential's preAuthentication)
 * while the others wait and then share the new token. Failed logins are counted for the run:
 * after Max Retries + 1 of them, or one that cannot succeed, every request fails with the login's
 * own message; between them the next login waits for the IAM's Retry-After, or a backoff.
 */
export class TokenSession {
	/** The login in progress, if any: it resolves true when it failed. */
	private refreshing: Promise<boolean> | undefined;
	private failedLogins = 0;
	private loginNotBefore = 0;
	private unusableBecause: Failure | undefined;

	constructor(
		private readonly shared: ICredentialDataDecryptedObject,
		readonly loginMode: boolean,
		private readonly limits: RetryLimits,
		/** The run's: it ends the wait for the next login. */
		private readonly signal: AbortSignal,
	) {}

	/** Why no request can succeed any more, once that is so. */
	get unusable(): Failure | undefined {
		return this.unusableBecause;
	}

	/** Marks the credential unusable for good; the first reason given is kept. */
	markUnusable(failure: Failure): Failure {
		this.unusableBecause ??= failure;
		return this.unusableBecause;
	}

	/** Forgets `tokenUsed` unless another request has already replaced it. */
	invalidate(tokenUsed: string): void {
		if (this.loginMode && this.shared[SESSION_TOKEN_PROPERTY] === tokenUsed) {
			this.shared[SESSION_TOKEN_PROPERTY] = '';
		}
	}

	/** Sends one attempt with a copy of the credentials, logging in first when there is no token. */
	async withToken(
		send: (credentials: ICredentialDataDecryptedObject) => Promise<Attempt>,
	): Promise<TokenUse> {
		for (;;) {
			if (this.unusableBecause) return { kind: 'unusable', failure: this.unusableBecause };
			if (this.refreshing) {
				await this.refreshing;
				continue;
			}
			const credentials = { ...this.shared };
			const loggingIn = this.loginMode && bearerTokenOf(credentials) === '';
			if (loggingIn && this.loginNotBefore > Date.now()) {
				await pause(this.loginNotBefore - Date.now(), this.signal);
				if (this.signal.aborted) return { kind: 'interrupted' };
				continue;
			}
			const sending = send(credentials);
			if (loggingIn) {
				this.refreshing = this.followLogin(sending, credentials);
				const loginFailed = await this.refreshing;
				this.refreshing = undefined;
				if (loginFailed) continue;
			}
			return { kind: 'sent', attempt: await sending, tokenUsed: bearerTokenOf(credentials) };
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
		if (!failure.retryable || this.failedLogins > this.limits.maxRetries) {
			this.markUnusable({ ...failure, logins: this.failedLogins });
		} else if (waitMs > this.limits.maxWaitMs) {
			this.markUnusable({ ...failure, wait: waitTooLong(waitMs, this.limits.maxWaitMs) });
		} else {
			this.loginNotBefore = Date.now() + waitMs;
		}
		return true;
	}
}
