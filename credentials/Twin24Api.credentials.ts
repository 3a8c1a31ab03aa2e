import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IDataObject,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

import {
	DEFAULT_CIS_BASE_URL,
	DEFAULT_IAM_BASE_URL,
	SESSION_TOKEN_PROPERTY,
	Twin24LoginError,
	bearerTokenOf,
	checkBaseUrl,
	joinUrl,
	secretsOf,
} from '../nodes/Twin24/transport/account';
import { apiMessageOf, redact, requestOptions } from '../nodes/Twin24/transport/http';
import { parseRetryAfter } from '../nodes/Twin24/transport/pacing/signals';

/** Lifetime asked for at login, in seconds; the vendor's own examples use one day. */
const LOGIN_TOKEN_TTL_SECONDS = 86400;
const LOGIN_TIMEOUT_MS = 15000;

const emailPasswordOnly = { show: { authMode: ['emailPassword'] } };

function errorCodeOf(error: unknown): string {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === 'string' ? code : 'no answer';
}

interface LoginResponse {
	statusCode: number;
	headers?: Record<string, unknown>;
	body: unknown;
}

/** Where to log in, and as whom; the login fails before anything is sent when either is missing. */
function loginRequest(credentials: ICredentialDataDecryptedObject) {
	const iamBaseUrl = checkBaseUrl(credentials.iamBaseUrl, 'IAM Base URL', DEFAULT_IAM_BASE_URL);
	if (!iamBaseUrl.ok) throw new Twin24LoginError(iamBaseUrl.message, false);
	const { email, password } = credentials;
	if (
		typeof email !== 'string' ||
		email.trim() === '' ||
		typeof password !== 'string' ||
		password === ''
	) {
		throw new Twin24LoginError(
			'Twin24 login needs an email and a password. Fill in both in the Twin24 credential.',
			false,
		);
	}
	const url = joinUrl(iamBaseUrl.url, ['auth', 'login']);
	return { url, body: { email: email.trim(), password, ttl: LOGIN_TOKEN_TTL_SECONDS } };
}

/** Why a login that got an answer but no token failed, as the error the node reports. */
function failedLogin(
	url: string,
	response: LoginResponse,
	credentials: ICredentialDataDecryptedObject,
): Twin24LoginError {
	if (response.statusCode === 200) {
		return new Twin24LoginError(
			`Twin24 login at ${url} answered 200 without a token. Check that the IAM Base URL points at Twin24's IAM API.`,
			false,
		);
	}
	const echoed =
		typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? '');
	const apiMessage = apiMessageOf(redact(echoed, secretsOf(credentials)));
	const serverTrouble = response.statusCode === 429 || response.statusCode >= 500;
	return new Twin24LoginError(
		`Twin24 login failed (HTTP ${response.statusCode}${apiMessage ? `: ${apiMessage}` : ''}). ` +
			(serverTrouble
				? 'Twin24 could not log in right now; try again later.'
				: 'Check the email and password in the Twin24 credential.'),
		serverTrouble,
		serverTrouble ? parseRetryAfter(response.headers?.['retry-after']) : undefined,
	);
}

/**
 * Logs in with email and password. Every failure becomes an error built here, because
 * the HTTP client's own errors carry the request, and so the password, inside them.
 */
async function logIn(
	helper: IHttpRequestHelper,
	credentials: ICredentialDataDecryptedObject,
): Promise<string> {
	const { url, body } = loginRequest(credentials);
	let response: LoginResponse;
	try {
		response = (await helper.helpers.httpRequest(
			requestOptions({ method: 'POST', url, body }, LOGIN_TIMEOUT_MS),
		)) as LoginResponse;
	} catch (error) {
		throw new Twin24LoginError(
			`Twin24 login at ${url} got no answer (${errorCodeOf(error)}). Check the IAM Base URL and that Twin24 is reachable.`,
			true,
		);
	}
	const token = (response.body as IDataObject | undefined)?.token;
	if (response.statusCode === 200 && typeof token === 'string' && token !== '') return token;
	throw failedLogin(url, response, credentials);
}

/**
 * Where the credential test may send a token: https://, or plain http only to this machine.
 * Any other IAM Base URL is swapped for a host that never resolves (RFC 2606 .invalid), so the
 * test fails before a token could travel in the clear.
 */
const TOKEN_SAFE_URL = String.raw`^(https://[^\s/?#@]+|http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?)(/[^\s?#]*)?$`;
const IAM_BASE_URL = 'String($credentials.iamBaseUrl).trim()';
const TEST_BASE_URL_EXPRESSION =
	`new RegExp(${JSON.stringify(TOKEN_SAFE_URL)}, "i").test(${IAM_BASE_URL})` +
	` ? ${IAM_BASE_URL}.replace(new RegExp("/+$"), "") : "https://iam-base-url-must-be-https.invalid"`;

export class Twin24Api implements ICredentialType {
	name = 'twin24Api';

	displayName = 'Twin24 API';

	icon = { light: 'file:twin24.svg', dark: 'file:twin24.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-twin24#user-content-credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication',
			name: 'authMode',
			type: 'options',
			options: [
				{
					name: 'Access Token',
					value: 'accessToken',
					description: 'Paste a token issued in your Twin24 account',
				},
				{
					name: 'Email and Password',
					value: 'emailPassword',
					description: 'n8n logs in, keeps the token and logs in again when it expires',
				},
			],
			default: 'accessToken',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authMode: ['accessToken'] } },
		},
		{
			displayName: 'Email',
			name: 'email',
			type: 'string',
			placeholder: 'e.g. name@example.com',
			default: '',
			required: true,
			displayOptions: emailPasswordOnly,
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: emailPasswordOnly,
		},
		{
			displayName: 'CIS Base URL',
			name: 'cisBaseUrl',
			type: 'string',
			default: DEFAULT_CIS_BASE_URL,
			description:
				'Root of the CIS API. Some accounts use https://cis.twin24.ai/api/v1. Must be https:// unless the host is localhost.',
		},
		{
			displayName: 'IAM Base URL',
			name: 'iamBaseUrl',
			type: 'string',
			default: DEFAULT_IAM_BASE_URL,
			description:
				'Root of the IAM API: where n8n logs in, and where the credential test checks the token. Must be https:// unless the host is localhost.',
		},
		{
			displayName: 'Session Token',
			name: SESSION_TOKEN_PROPERTY,
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	/** Email + password mode only; an access token is used as it is, with no login and no write. */
	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		if (credentials.authMode !== 'emailPassword') return {};
		return { [SESSION_TOKEN_PROPERTY]: await logIn(this, credentials) };
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		return {
			...requestOptions,
			headers: { ...requestOptions.headers, Authorization: `Bearer ${bearerTokenOf(credentials)}` },
		};
	}

	/** users/me is the cheapest authenticated call; it is asked at the IAM Base URL in both modes. */
	test: ICredentialTestRequest = {
		request: {
			baseURL: `={{ ${TEST_BASE_URL_EXPRESSION} }}`,
			url: '/users/me',
			method: 'GET',
		},
	};
}
