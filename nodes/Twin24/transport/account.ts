/**
 * The Twin24 account a credential describes, as both the credential and the transport read it:
 * the credential's names, the bearer token, the base URLs and their checks, the login error and
 * the secrets that must never be shown. The credential and the transport never import each other.
 */

/** The credential's type name; the credential class repeats it as a literal for n8n's scanner. */
export const CREDENTIAL_TYPE = 'twin24Api';

/** The property n8n stores the fetched token in, and clears to force a new login. */
export const SESSION_TOKEN_PROPERTY = 'sessionToken';

export const DEFAULT_CIS_BASE_URL = 'https://twin24.ai/cis/api/v1';
export const DEFAULT_IAM_BASE_URL = 'https://iam.twin24.ai/api/v1';

/** The bearer token a request is sent with, for either way of signing in. */
export function bearerTokenOf(credentials: Record<string, unknown>): string {
	const token =
		credentials.authMode === 'emailPassword'
			? credentials[SESSION_TOKEN_PROPERTY]
			: credentials.accessToken;
	return typeof token === 'string' ? token.trim() : '';
}

/** The credential values that must never be shown: the token and the password. */
export function secretsOf(credentials: Record<string, unknown>): string[] {
	return ['accessToken', 'password', SESSION_TOKEN_PROPERTY]
		.map((field) => credentials[field])
		.filter((value): value is string => typeof value === 'string' && value.length >= 4);
}

/**
 * A failed login. Built by the credential from scratch so that it holds no part of the login
 * request; `retryable` tells a dropped connection or server trouble from a refused password, and
 * `retryAfterMs` is the IAM's own Retry-After, when it sent one.
 */
export class Twin24LoginError extends Error {
	constructor(
		message: string,
		readonly retryable: boolean,
		readonly retryAfterMs?: number,
	) {
		super(message);
		this.name = 'Twin24LoginError';
	}
}

/** This machine, the one host plain http:// may go to. */
const LOOPBACK_HOST = /^(localhost|\[::1\]|127(\.\d{1,3}){3})$/;

export type BaseUrlCheck = { ok: true; url: string } | { ok: false; message: string };

/**
 * Checks a base URL from the credential: it decides where the token (and the password) is sent,
 * so anything that could send them somewhere unexpected makes it unusable. Gives it back without
 * trailing slashes, so that `…/api/v1` and `…/api/v1/` build the same request URL; or says what
 * is wrong and how to fix it.
 */
export function checkBaseUrl(value: unknown, fieldLabel: string, example: string): BaseUrlCheck {
	const unusable = (problem: string, fix = `Enter the API's base URL, e.g. ${example}`) => ({
		ok: false as const,
		message: `The Twin24 credential's ${fieldLabel} ${problem}. ${fix}`,
	});
	if (typeof value !== 'string' || value.trim() === '') return unusable('is empty');
	if (!URL.canParse(value.trim())) return unusable('is not a valid URL');
	const url = new URL(value.trim());
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		return unusable(`uses ${url.protocol.slice(0, 20)} instead of https:`);
	}
	if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname)) {
		return unusable(
			`uses plain http:// to ${url.hostname}, which would send the credentials unencrypted`,
			'Use https:// (plain http:// is accepted only for localhost or 127.0.0.1)',
		);
	}
	if (url.username !== '' || url.password !== '') {
		return unusable('contains a user name or password');
	}
	if (url.search !== '' || url.hash !== '') {
		return unusable('contains a query string or fragment (? or #)');
	}
	return { ok: true, url: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/** Appends path segments to a normalized base URL, each encoded as exactly one segment. */
export function joinUrl(baseUrl: string, segments: readonly string[]): string {
	return `${baseUrl}/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}
