/**
 * The case tables of the hostile-input suite (issue 4). Each row says what is thrown at the
 * node and the exact outcome expected; test/hostile.test.ts runs every row through n8n's engine
 * against the simulator over real HTTP.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { ErasureRoute, ScriptedAnswer, Twin24Simulator } from './simulator/simulator';
import { CIS_BASE_PATH, IAM_BASE_PATH } from './simulator/simulator';
import {
	DEMO_ACCESS_TOKEN,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
	loginCredentials,
	tokenCredentials,
} from './support';

// ---------------------------------------------------------------- outcomes

/** A text an error must contain: a pattern, or an exact piece. */
export type Matcher = RegExp | string;

export type Outcome =
	| { kind: 'success' }
	/** An HTTP-level failure of an item: NodeApiError naming the action, the ID and the status. */
	| { kind: 'failure'; status?: number; shows: readonly Matcher[]; hides?: readonly RegExp[] }
	/** Refused before anything was sent: NodeOperationError. */
	| { kind: 'refused'; shows: readonly Matcher[] };

const success: Outcome = { kind: 'success' };

function failure(
	status: number | undefined,
	shows: readonly Matcher[] = [],
	hides: readonly RegExp[] = [],
): Outcome {
	return { kind: 'failure', status, shows, hides };
}

function refusal(...shows: Matcher[]): Outcome {
	return { kind: 'refused', shows };
}

/** What a timed-out request says (no status, no Node error code). */
const TIMED_OUT = /did not answer in time/;

// ---------------------------------------------------------------- operations

export interface OperationUnderTest {
	name: string;
	resource: 'call' | 'autoCallCandidate';
	operation: 'depersonalize' | 'deleteRecord';
	idField: 'callId' | 'autoCallCandidateId';
	idLabel: string;
	/** How error messages name the action. */
	action: RegExp;
	method: 'POST' | 'DELETE';
	route: ErasureRoute;
	/** The raw request path is `${pathBefore}<one encoded segment>${pathAfter}`. */
	pathBefore: string;
	pathAfter: string;
}

export const CALL_DEPERSONALIZE: OperationUnderTest = {
	name: 'Call → Depersonalize',
	resource: 'call',
	operation: 'depersonalize',
	idField: 'callId',
	idLabel: 'Call ID',
	action: /depersonali[sz]e call/i,
	method: 'POST',
	route: 'call.depersonalize',
	pathBefore: `${CIS_BASE_PATH}/calls/`,
	pathAfter: '/depersonalization',
};

export const OPERATIONS: readonly OperationUnderTest[] = [
	CALL_DEPERSONALIZE,
	{
		name: 'Call → Delete Record',
		resource: 'call',
		operation: 'deleteRecord',
		idField: 'callId',
		idLabel: 'Call ID',
		action: /delete the recording of call/i,
		method: 'DELETE',
		route: 'call.deleteRecord',
		pathBefore: `${CIS_BASE_PATH}/calls/`,
		pathAfter: '/record',
	},
	{
		name: 'Auto Call Candidate → Depersonalize',
		resource: 'autoCallCandidate',
		operation: 'depersonalize',
		idField: 'autoCallCandidateId',
		idLabel: 'Auto Call Candidate ID',
		action: /depersonali[sz]e auto call candidate/i,
		method: 'POST',
		route: 'candidate.depersonalize',
		pathBefore: `${CIS_BASE_PATH}/telephony/autoCallCandidate/`,
		pathAfter: '/depersonalization',
	},
];

// ---------------------------------------------------------------- IDs

/** Either exactly one request whose single path segment decodes to `sent`, or a refusal. */
export type IdExpectation = { sent: string } | { refused: RegExp };

export interface IdCase {
	name: string;
	/** The value the ID expression `{{ $json.id }}` resolves to. */
	id: unknown;
	expect: IdExpectation;
}

const sentAs = (id: string): IdExpectation => ({ sent: id });
const refusedFor = (reason: RegExp): IdExpectation => ({ refused: reason });

const EMPTY = /empty/;
const FORBIDDEN_CHARACTER = /contains "[/\\?#]"/;
const SPACE_OR_CONTROL = /space or control character/;
const PATH_STEP = /path step/;
const TOO_LONG = /characters long/;

export const ID_CASES: readonly IdCase[] = [
	{ name: 'empty string', id: '', expect: refusedFor(EMPTY) },
	{ name: 'blank: spaces only', id: '    ', expect: refusedFor(EMPTY) },
	{ name: 'blank: tabs and line breaks only', id: '\t\r\n ', expect: refusedFor(EMPTY) },
	{ name: 'surrounding spaces are trimmed', id: '  call-42  ', expect: sentAs('call-42') },
	{ name: 'surrounding tab and newline are trimmed', id: '\tcall-42\n', expect: sentAs('call-42') },
	{ name: 'space inside', id: 'call 42', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'slash', id: 'a/b', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'traversal 1/../../x', id: '1/../../x', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'leading slash', id: '/record', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'dot-dot', id: '..', expect: refusedFor(PATH_STEP) },
	{ name: 'single dot', id: '.', expect: refusedFor(PATH_STEP) },
	{ name: 'dot-dot inside spaces', id: ' .. ', expect: refusedFor(PATH_STEP) },
	{ name: 'three dots are a plain segment', id: '...', expect: sentAs('...') },
	{ name: 'encoded slash %2F stays literal', id: '%2F', expect: sentAs('%2F') },
	{ name: 'encoded traversal %2E%2E%2F', id: '%2E%2E%2Fadmin', expect: sentAs('%2E%2E%2Fadmin') },
	{ name: 'encoded dot-dot %2E%2E', id: '%2E%2E', expect: sentAs('%2E%2E') },
	{ name: 'lone percent sign', id: '%', expect: sentAs('%') },
	{ name: 'malformed escape %zz', id: 'x%zz', expect: sentAs('x%zz') },
	{ name: 'encoded NUL %00', id: 'a%00b', expect: sentAs('a%00b') },
	{ name: 'question mark', id: 'a?b', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'query injection', id: 'x?admin=true', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'hash', id: 'a#b', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'backslash', id: 'a\\b', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'backslash traversal', id: '..\\..\\x', expect: refusedFor(FORBIDDEN_CHARACTER) },
	{ name: 'tab inside', id: 'a\tb', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'CR LF inside', id: 'a\r\nX-Injected: 1', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'NUL inside', id: 'a\u0000b', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'DEL inside', id: 'a\u007fb', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'C1 control NEL inside', id: 'a\u0085b', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'no-break space inside', id: 'a\u00a0b', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'line separator U+2028 inside', id: 'a\u2028b', expect: refusedFor(SPACE_OR_CONTROL) },
	{ name: 'ideographic space inside', id: 'a\u3000b', expect: refusedFor(SPACE_OR_CONTROL) },
	{
		name: 'byte-order mark inside',
		id: 'a\ufeffb',
		expect: refusedFor(/U\+FEFF \(zero-width no-break space \(BOM\)\) at position 2/),
	},
	// trim() would drop a leading BOM silently; it is refused like any other invisible character.
	{
		name: 'byte-order mark first',
		id: '\ufeffcall-1',
		expect: refusedFor(/U\+FEFF .* at position 1/),
	},
	{
		name: '256 characters (the longest allowed)',
		id: 'x'.repeat(256),
		expect: sentAs('x'.repeat(256)),
	},
	{ name: '257 characters', id: 'x'.repeat(257), expect: refusedFor(TOO_LONG) },
	{ name: '10,000 characters', id: 'x'.repeat(10_000), expect: refusedFor(TOO_LONG) },
	{ name: '10,000 slashes', id: '/'.repeat(10_000), expect: refusedFor(TOO_LONG) },
	{ name: 'number', id: 12345, expect: sentAs('12345') },
	{ name: 'number zero', id: 0, expect: sentAs('0') },
	{
		name: 'the largest safe whole number',
		id: 9007199254740991,
		expect: sentAs('9007199254740991'),
	},
	{ name: 'negative whole number', id: -7, expect: sentAs('-7') },
	// 9007199254740993 is already 9007199254740992 once JavaScript holds it: another call's ID.
	{
		name: 'a number past 2^53',
		id: JSON.parse('9007199254740993') as number,
		expect: refusedFor(/9007199254740992, too large.*as text/),
	},
	{ name: 'negative fraction', id: -1.5, expect: refusedFor(/-1\.5, not a whole number.*as text/) },
	{ name: 'fraction', id: 1.5, expect: refusedFor(/1\.5, not a whole number/) },
	{ name: 'huge number', id: 1e21, expect: refusedFor(/1e\+21, too large/) },
	// n8n hands non-finite numbers over as null; either way they are refused.
	{ name: 'NaN', id: Number.NaN, expect: refusedFor(/is empty/) },
	{ name: 'Infinity', id: Number.POSITIVE_INFINITY, expect: refusedFor(/is empty/) },
	{ name: 'boolean true', id: true, expect: refusedFor(/boolean/) },
	{ name: 'boolean false', id: false, expect: refusedFor(/boolean/) },
	{ name: 'null', id: null, expect: refusedFor(/is empty/) },
	{ name: 'missing field (undefined)', id: undefined, expect: refusedFor(/missing|empty/) },
	{ name: 'object', id: { id: 'call-1' }, expect: refusedFor(/object/) },
	{ name: 'empty object', id: {}, expect: refusedFor(/object/) },
	{ name: 'array holding an ID', id: ['call-1'], expect: refusedFor(/list/) },
	{ name: 'empty array', id: [], expect: refusedFor(/list/) },
	{ name: 'Cyrillic', id: 'звонок-1', expect: sentAs('звонок-1') },
	{ name: 'CJK', id: '通話-42', expect: sentAs('通話-42') },
	{ name: 'emoji outside the BMP', id: '📞-1', expect: sentAs('📞-1') },
	{ name: 'combining accent', id: 'cafe\u0301', expect: sentAs('cafe\u0301') },
	{
		name: 'right-to-left override',
		id: 'abc\u202etxt',
		expect: refusedFor(/U\+202E .* at position 4/),
	},
	{
		name: 'zero-width space',
		id: 'a\u200bb',
		expect: refusedFor(/U\+200B \(zero-width space\) at position 2/),
	},
	{
		name: 'zero-width space at the end of a UUID',
		id: '3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11\u200b',
		expect: refusedFor(/U\+200B \(zero-width space\) at position 37/),
	},
	{
		name: 'word joiner',
		id: 'call\u2060-1',
		expect: refusedFor(/U\+2060 \(word joiner\) at position 5/),
	},
	{
		name: 'soft hyphen',
		id: 'call\u00ad1',
		expect: refusedFor(/U\+00AD \(soft hyphen\) at position 5/),
	},
	{ name: 'lone surrogate (cannot be encoded)', id: '\ud800x', expect: refusedFor(/./) },
	{ name: 'expression syntax is data', id: '{{$json.secret}}', expect: sentAs('{{$json.secret}}') },
	{ name: 'leading = is data', id: '=1+1', expect: sentAs('=1+1') },
	{ name: 'reserved characters ;=&+@:', id: 'a;b=c&d+e@f:g', expect: sentAs('a;b=c&d+e@f:g') },
	{ name: 'quotes and angle brackets', id: `'"<img>`, expect: sentAs(`'"<img>`) },
	{ name: 'the word null', id: 'null', expect: sentAs('null') },
];

// ---------------------------------------------------------------- base URLs

export interface BaseUrlCase {
	name: string;
	mode: 'token' | 'login';
	/** Credential fields to override, built from the running simulator. */
	urls: (sim: Twin24Simulator) => ICredentialDataDecryptedObject;
	/** Where the one erasure request must land, or the refusal before anything is sent. */
	expect:
		{ path: string; status: number } | { refused: 'CIS Base URL' | 'IAM Base URL'; reason: RegExp };
}

export const ERASURE_ID = 'call-1';
const ERASURE_PATH = `${CIS_BASE_PATH}/calls/${ERASURE_ID}/depersonalization`;
const landsAt = (path: string, status = 200) => ({ path, status });
const cisRefused = (reason: RegExp) => ({ refused: 'CIS Base URL' as const, reason });
const iamRefused = (reason: RegExp) => ({ refused: 'IAM Base URL' as const, reason });
const cis = (url: (sim: Twin24Simulator) => string) => (sim: Twin24Simulator) => ({
	cisBaseUrl: url(sim),
});
const iam = (url: (sim: Twin24Simulator) => string) => (sim: Twin24Simulator) => ({
	iamBaseUrl: url(sim),
});

const QUERY_OR_FRAGMENT = /query string or fragment/;
const USER_INFO = /user name or password/;
const PLAIN_HTTP = /plain http:\/\//;
const NOT_A_URL = /not a valid URL/;
const OTHER_SCHEME = /instead of https/;

export const BASE_URL_CASES: readonly BaseUrlCase[] = [
	{
		name: 'as given',
		mode: 'token',
		urls: cis((s) => s.cisBaseUrl),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'one trailing slash',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}/`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'three trailing slashes',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}///`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'surrounding spaces',
		mode: 'token',
		urls: cis((s) => `  ${s.cisBaseUrl}  `),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'upper-case scheme',
		mode: 'token',
		urls: cis((s) => s.cisBaseUrl.replace('http:', 'HTTP:')),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'loopback written in hex is still loopback',
		mode: 'token',
		urls: cis((s) => `http://0x7f000001:${s.port}${CIS_BASE_PATH}`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'localhost over plain http',
		mode: 'token',
		urls: cis((s) => `http://localhost:${s.port}${CIS_BASE_PATH}`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'another path is kept as it is',
		mode: 'token',
		urls: cis((s) => `${s.origin}/proxy/twin24${CIS_BASE_PATH}/`),
		expect: landsAt(`/proxy/twin24${ERASURE_PATH}`, 404),
	},
	{
		name: 'origin without a path',
		mode: 'token',
		urls: cis((s) => `${s.origin}/`),
		expect: landsAt(`/calls/${ERASURE_ID}/depersonalization`, 404),
	},
	{
		name: 'query string',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}?tenant=1`),
		expect: cisRefused(QUERY_OR_FRAGMENT),
	},
	{
		name: 'query string carrying the token',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}?access_token=${DEMO_ACCESS_TOKEN}`),
		expect: cisRefused(QUERY_OR_FRAGMENT),
	},
	{
		name: 'fragment',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}#v1`),
		expect: cisRefused(QUERY_OR_FRAGMENT),
	},
	{
		name: 'user:password@ (the demo password)',
		mode: 'token',
		urls: cis((s) => `http://demo:${DEMO_PASSWORD}@127.0.0.1:${s.port}${CIS_BASE_PATH}`),
		expect: cisRefused(USER_INFO),
	},
	{
		name: 'user name only',
		mode: 'token',
		urls: cis((s) => `http://demo@127.0.0.1:${s.port}${CIS_BASE_PATH}`),
		expect: cisRefused(USER_INFO),
	},
	{
		name: 'plain http to a remote host',
		mode: 'token',
		urls: cis(() => 'http://twin24.ai/cis/api/v1'),
		expect: cisRefused(PLAIN_HTTP),
	},
	{
		name: 'plain http to a host that starts like loopback',
		mode: 'token',
		urls: cis(() => 'http://127.0.0.1.nip.io/cis/api/v1'),
		expect: cisRefused(PLAIN_HTTP),
	},
	{
		name: 'plain http to localhost.<domain>',
		mode: 'token',
		urls: cis(() => 'http://localhost.attacker.test/cis/api/v1'),
		expect: cisRefused(PLAIN_HTTP),
	},
	{
		name: 'ftp scheme',
		mode: 'token',
		urls: cis((s) => `ftp://127.0.0.1:${s.port}/cis`),
		expect: cisRefused(OTHER_SCHEME),
	},
	{
		name: 'file scheme',
		mode: 'token',
		urls: cis(() => 'file:///etc/passwd'),
		expect: cisRefused(OTHER_SCHEME),
	},
	{
		name: 'javascript scheme',
		mode: 'token',
		urls: cis(() => 'javascript:alert(1)'),
		expect: cisRefused(OTHER_SCHEME),
	},
	{
		name: 'data scheme',
		mode: 'token',
		urls: cis(() => 'data:text/plain,hello'),
		expect: cisRefused(OTHER_SCHEME),
	},
	{
		name: 'no scheme',
		mode: 'token',
		urls: cis(() => 'twin24.ai/cis/api/v1'),
		expect: cisRefused(NOT_A_URL),
	},
	{
		name: 'scheme-relative',
		mode: 'token',
		urls: cis(() => '//twin24.ai/cis/api/v1'),
		expect: cisRefused(NOT_A_URL),
	},
	{
		name: 'not a URL at all',
		mode: 'token',
		urls: cis(() => 'not a url'),
		expect: cisRefused(NOT_A_URL),
	},
	{ name: 'empty', mode: 'token', urls: cis(() => ''), expect: cisRefused(/empty/) },
	{ name: 'blank', mode: 'token', urls: cis(() => '   '), expect: cisRefused(/empty/) },
	{
		name: 'login: IAM with trailing slashes',
		mode: 'login',
		urls: iam((s) => `${s.iamBaseUrl}//`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'login: IAM with a query string',
		mode: 'login',
		urls: iam((s) => `${s.iamBaseUrl}?x=1`),
		expect: iamRefused(QUERY_OR_FRAGMENT),
	},
	{
		name: 'login: IAM over plain http to a remote host',
		mode: 'login',
		urls: iam(() => 'http://iam.twin24.ai/api/v1'),
		expect: iamRefused(PLAIN_HTTP),
	},
	{
		name: 'login: IAM with user:password@',
		mode: 'login',
		urls: iam(
			(s) =>
				`http://${encodeURIComponent(DEMO_EMAIL)}:${DEMO_PASSWORD}@127.0.0.1:${s.port}${IAM_BASE_PATH}`,
		),
		expect: iamRefused(USER_INFO),
	},
	{ name: 'login: IAM empty', mode: 'login', urls: iam(() => ''), expect: iamRefused(/empty/) },
	{
		name: 'login: IAM not a URL',
		mode: 'login',
		urls: iam(() => 'iam twin24'),
		expect: iamRefused(NOT_A_URL),
	},
	{
		name: 'login: a bad CIS URL is refused before logging in',
		mode: 'login',
		urls: cis((s) => `${s.cisBaseUrl}#x`),
		expect: cisRefused(QUERY_OR_FRAGMENT),
	},
];

// ---------------------------------------------------------------- server answers

export interface AnswerContext {
	sim: Twin24Simulator;
	/** Another server a redirect may point to: it must never receive anything. */
	elsewhere: Twin24Simulator;
	id: string;
}

export interface AnswerCase {
	name: string;
	/** Scripts the simulator for the one item, whose ID is `ctx.id`. */
	arrange: (ctx: AnswerContext) => void;
	options?: { timeout?: number; maxRetries?: number; maxWait?: number };
	continueOnFail?: boolean;
	/** How many erasure requests must reach the simulator. */
	requests: number;
	expect: Outcome | ((ctx: AnswerContext) => Outcome);
	/** The run must end within this (default 4000 ms). */
	maxDurationMs?: number;
}

const respond =
	(...answers: ScriptedAnswer[]) =>
	({ sim, id }: AnswerContext): void => {
		for (const answer of answers) sim.respondFor(id, answer);
	};

const HTML_500_PAGE =
	'<!DOCTYPE html><html><head><title>500 Internal Server Error</title><style>body{color:red}</style></head>' +
	'<body><h1>Internal Server Error</h1><p>Database <b>unavailable</b></p></body></html>';
const HTML_403_SCRIPT = '<html><script>alert(document.cookie)</script><p>Access denied</p></html>';
const TWO_MEBIBYTES = 2 * 1024 * 1024;
const HTML_TAG = /<\/?[a-z][^>]*>/i;

function redirectTo(status: 301 | 302 | 303 | 307 | 308) {
	return ({ sim, elsewhere, id }: AnswerContext): void =>
		sim.respondFor(id, {
			kind: 'redirect',
			status,
			location: `${elsewhere.cisBaseUrl}/calls/${encodeURIComponent(id)}/depersonalization`,
		});
}

const namesRedirectHost = (status: number) => (ctx: AnswerContext) =>
	failure(status, [`127.0.0.1:${ctx.elsewhere.port}`]);

export const ANSWER_CASES: readonly AnswerCase[] = [
	{
		name: 'HTML 500 error page: tags stripped',
		arrange: respond({
			status: 500,
			body: HTML_500_PAGE,
			headers: { 'Content-Type': 'text/html' },
		}),
		requests: 1,
		expect: failure(
			500,
			[/Internal Server Error/, /Database unavailable/],
			[HTML_TAG, /color:red/],
		),
	},
	{
		name: 'HTML 500 page once, then success on the one retry',
		arrange: respond({
			status: 500,
			body: HTML_500_PAGE,
			headers: { 'Content-Type': 'text/html' },
		}),
		options: { maxRetries: 1 },
		requests: 2,
		expect: success,
	},
	{
		name: 'HTML 404 page from a proxy',
		arrange: respond({ status: 404, body: '<html><body><h1>Not Found</h1></body></html>' }),
		options: { maxRetries: 3 },
		requests: 1,
		expect: failure(404, [/Not Found/], [HTML_TAG]),
	},
	{
		name: 'nginx 502 page',
		arrange: ({ sim }) => sim.failNext(1, 502),
		requests: 1,
		expect: failure(502, [/502 Bad Gateway/, /nginx/], [HTML_TAG]),
	},
	{
		name: 'HTML 403 page with a script',
		arrange: respond({
			status: 403,
			body: HTML_403_SCRIPT,
			headers: { 'Content-Type': 'text/html' },
		}),
		requests: 1,
		expect: failure(403, [/Access denied/], [HTML_TAG, /document\.cookie/]),
	},
	{
		name: 'invalid JSON in a 400',
		arrange: respond({
			status: 400,
			body: '{"message": "broken',
			headers: { 'Content-Type': 'application/json' },
		}),
		requests: 1,
		expect: failure(400, [/broken/]),
	},
	{
		name: 'JSON that is a bare string',
		arrange: respond({ status: 400, body: '"just a string"' }),
		requests: 1,
		expect: failure(400, [/just a string/]),
	},
	{
		name: 'JSON with a nested error.message',
		arrange: respond({
			status: 422,
			body: JSON.stringify({ error: { message: 'ID format invalid', code: 17 } }),
		}),
		requests: 1,
		expect: failure(422, [/ID format invalid/]),
	},
	{
		name: 'JSON without any message field',
		arrange: respond({ status: 400, body: JSON.stringify({ code: 17, fields: ['id'] }) }),
		requests: 1,
		expect: failure(400, [/"code":17/]),
	},
	{
		name: 'empty 400 body',
		arrange: respond({ status: 400, body: '' }),
		options: { maxRetries: 3 },
		requests: 1,
		expect: failure(400, [], [/undefined|null|\[object/]),
	},
	{
		name: 'empty 500 body',
		arrange: respond({ status: 500, body: '' }),
		requests: 1,
		expect: failure(500, [], [/undefined|null|\[object/]),
	},
	{
		name: 'empty 503 body, retried up to Max Retries',
		arrange: respond({ status: 503, body: '', times: 3 }),
		options: { maxRetries: 2 },
		requests: 3,
		expect: failure(503, [/after 2 retries/]),
	},
	{
		name: '2 MB JSON error body: read only in part',
		arrange: respond({
			status: 400,
			body: JSON.stringify({ message: `${'A'.repeat(TWO_MEBIBYTES)}TAIL-MARKER` }),
		}),
		requests: 1,
		expect: failure(400, [/AAAA/], [/TAIL-MARKER/, /A{301}/]),
	},
	{
		name: '2 MB text error body',
		arrange: respond({ status: 500, body: `${'x'.repeat(TWO_MEBIBYTES)}TAIL-MARKER` }),
		requests: 1,
		expect: failure(500, [/xxxx/], [/TAIL-MARKER/, /x{301}/]),
	},
	{
		name: 'message longer than 300 characters is cut',
		arrange: respond({
			status: 400,
			body: JSON.stringify({ message: `start ${'m'.repeat(1000)}` }),
		}),
		requests: 1,
		expect: failure(400, [/start m/], [/m{301}/]),
	},
	{
		name: 'endless error body',
		arrange: respond({ kind: 'endlessBody', status: 500 }),
		options: { timeout: 2000 },
		requests: 1,
		expect: failure(500, [], [/x{301}/]),
		maxDurationMs: 3000,
	},
	{
		name: 'endless 200 body counts as done',
		arrange: respond({ kind: 'endlessBody', status: 200 }),
		options: { timeout: 2000, maxRetries: 2 },
		requests: 1,
		expect: success,
		maxDurationMs: 3000,
	},
	{
		name: 'slow headers past the timeout',
		arrange: respond({ kind: 'slowHeaders', delayMs: 10_000, status: 200 }),
		options: { timeout: 1000 },
		requests: 1,
		expect: failure(undefined, [TIMED_OUT]),
		maxDurationMs: 2500,
	},
	{
		name: 'slow headers past the timeout, retried once',
		arrange: respond({ kind: 'slowHeaders', delayMs: 10_000, status: 200, times: 2 }),
		options: { timeout: 1000, maxRetries: 1 },
		requests: 2,
		expect: failure(undefined, [TIMED_OUT, /after 1 retry/]),
		maxDurationMs: 4000,
	},
	{
		name: 'slow headers within the timeout',
		arrange: respond({ kind: 'slowHeaders', delayMs: 300 }),
		options: { timeout: 1000 },
		requests: 1,
		expect: success,
	},
	{
		name: 'a server that never answers',
		arrange: respond({ kind: 'hang' }),
		options: { timeout: 1000 },
		requests: 1,
		expect: failure(undefined, [TIMED_OUT]),
		maxDurationMs: 2500,
	},
	{
		name: 'connection reset',
		arrange: ({ sim }) => sim.failNext(1, 'reset'),
		requests: 1,
		expect: failure(undefined, [/ECONNRESET|connection/i]),
	},
	{
		name: 'connection reset, then success on the one retry',
		arrange: ({ sim }) => sim.failNext(1, 'reset'),
		options: { maxRetries: 1 },
		requests: 2,
		expect: success,
	},
	{
		name: '302 to another host: not followed',
		arrange: redirectTo(302),
		requests: 1,
		expect: namesRedirectHost(302),
	},
	{
		name: '301 to another host: not followed',
		arrange: redirectTo(301),
		requests: 1,
		expect: namesRedirectHost(301),
	},
	{
		name: '303 to another host: not followed',
		arrange: redirectTo(303),
		requests: 1,
		expect: namesRedirectHost(303),
	},
	{
		name: '307 to another host: not followed, not retried',
		arrange: redirectTo(307),
		options: { maxRetries: 3 },
		requests: 1,
		expect: namesRedirectHost(307),
	},
	{
		name: '308 to another host: not followed',
		arrange: redirectTo(308),
		requests: 1,
		expect: namesRedirectHost(308),
	},
	{
		name: 'redirect to the same host: not followed either',
		arrange: respond({
			kind: 'redirect',
			status: 307,
			location: `${CIS_BASE_PATH}/calls/other-call/depersonalization`,
		}),
		requests: 1,
		expect: failure(307),
	},
	{
		name: '200 with an HTML body',
		arrange: respond({ status: 200, body: '<html><body>OK?</body></html>' }),
		requests: 1,
		expect: success,
	},
	{
		name: '200 with invalid JSON',
		arrange: respond({
			status: 200,
			body: '{"ok": tru',
			headers: { 'Content-Type': 'application/json' },
		}),
		requests: 1,
		expect: success,
	},
	{
		name: '200 with an error-looking JSON body',
		arrange: respond({ status: 200, body: '{"error":"something"}' }),
		requests: 1,
		expect: success,
	},
	{ name: '204 No Content', arrange: respond({ status: 204 }), requests: 1, expect: success },
	{
		name: '404 is never retried',
		arrange: respond({ status: 404, body: JSON.stringify({ message: 'Call not found' }) }),
		options: { maxRetries: 3 },
		requests: 1,
		expect: failure(404, [/Call not found/]),
	},
	{
		name: '400 is never retried',
		arrange: respond({ status: 400, body: JSON.stringify({ message: 'Bad ID' }) }),
		options: { maxRetries: 3 },
		requests: 1,
		expect: failure(400, [/Bad ID/]),
	},
	{
		name: '429 with Retry-After: 1, then success',
		arrange: respond({ status: 429, headers: { 'Retry-After': '1' } }),
		options: { maxRetries: 1 },
		requests: 2,
		expect: success,
		maxDurationMs: 3500,
	},
	{
		name: '429 asking for longer than Max Wait',
		arrange: respond({ status: 429, headers: { 'Retry-After': '1' } }),
		options: { maxWait: 0 },
		requests: 1,
		expect: failure(429, [/asks to wait 1 s, until .*Z, longer than Max Wait \(0 s\)/]),
	},
	{
		// 429s are bounded by Max Wait, not by Max Retries (here 0).
		name: '429 once, then success, with no retries for trouble',
		arrange: respond({ status: 429, headers: { 'Retry-After': '0' } }),
		requests: 2,
		expect: success,
	},
	{
		name: '408 once, then success',
		arrange: respond({ status: 408 }),
		options: { maxRetries: 1 },
		requests: 2,
		expect: success,
	},
	{
		name: 'error body echoing the bearer token',
		arrange: respond({
			status: 400,
			body: JSON.stringify({ message: `Invalid token Bearer ${DEMO_ACCESS_TOKEN}` }),
		}),
		requests: 1,
		expect: failure(400, [/Invalid token/]),
	},
	{
		name: '500 naming a Node error code of the server',
		arrange: respond({
			status: 500,
			body: JSON.stringify({ message: 'connect ECONNREFUSED 10.0.0.5:5432' }),
		}),
		requests: 1,
		expect: failure(500, [/ECONNREFUSED 10\.0\.0\.5/]),
	},
	{
		name: 'Continue On Fail: HTML 500 page',
		arrange: respond({
			status: 500,
			body: HTML_500_PAGE,
			headers: { 'Content-Type': 'text/html' },
		}),
		continueOnFail: true,
		requests: 1,
		expect: failure(500, [/Internal Server Error/], [HTML_TAG]),
	},
	{
		name: 'Continue On Fail: a server that never answers',
		arrange: respond({ kind: 'hang' }),
		options: { timeout: 1000 },
		continueOnFail: true,
		requests: 1,
		expect: failure(undefined, [TIMED_OUT]),
		maxDurationMs: 2500,
	},
	{
		name: 'Continue On Fail: 302 to another host',
		arrange: redirectTo(302),
		continueOnFail: true,
		requests: 1,
		expect: namesRedirectHost(302),
	},
];

// ---------------------------------------------------------------- credentials

export interface CredentialCase {
	name: string;
	credentials: (sim: Twin24Simulator) => ICredentialDataDecryptedObject;
	/** A simulator that knows no access token at all (so the demo token is a wrong one). */
	noKnownTokens?: boolean;
	/** Runs before the measured run; requests it causes are not counted. */
	arrange?: (sim: Twin24Simulator) => void | Promise<void>;
	/** Runs the measured run once before, with the same credential store (to log in). */
	warmUp?: boolean;
	items: number;
	options?: { timeout?: number; maxRetries?: number; concurrency?: number };
	continueOnFail?: boolean;
	/** Login requests and erasure requests that must reach the simulator. */
	logins: number;
	erasures: number | { atMost: number };
	expect: Outcome;
	/** The exact Authorization header every erasure request must carry. */
	sentBearer?: string;
	maxDurationMs?: number;
}

const TOKEN_REFUSED = /refused the token/;
const token =
	(overrides: ICredentialDataDecryptedObject = {}) =>
	(sim: Twin24Simulator) =>
		tokenCredentials(sim, overrides);
const login =
	(overrides: ICredentialDataDecryptedObject = {}) =>
	(sim: Twin24Simulator) =>
		loginCredentials(sim, overrides);

export const LOGIN_TIMEOUT_CASE_MS = 40_000;

export const CREDENTIAL_CASES: readonly CredentialCase[] = [
	{
		name: 'wrong access token: one request, no retry, the run stops',
		credentials: token(),
		noKnownTokens: true,
		items: 3,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(401, [/Unauthorized/, TOKEN_REFUSED]),
	},
	{
		name: 'wrong access token, 10 items at concurrency 5: no more than one wave',
		credentials: token(),
		noKnownTokens: true,
		items: 10,
		options: { concurrency: 5, maxRetries: 3 },
		logins: 0,
		erasures: { atMost: 5 },
		expect: failure(401, [TOKEN_REFUSED]),
	},
	{
		name: 'wrong access token with Continue On Fail: every item fails, one request',
		credentials: token(),
		noKnownTokens: true,
		items: 3,
		options: { concurrency: 1, maxRetries: 3 },
		continueOnFail: true,
		logins: 0,
		erasures: 1,
		expect: failure(401, [/401/]),
	},
	{
		name: 'expired access token',
		credentials: token(),
		arrange: (sim) => sim.expireAllTokens(),
		items: 2,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(401, [/Token expired/, TOKEN_REFUSED]),
	},
	{
		name: 'token without erase permission (403): not retried',
		credentials: token({ accessToken: DEMO_READONLY_ACCESS_TOKEN }),
		items: 2,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(403, [/lacks permission/]),
	},
	{
		name: 'empty access token',
		credentials: token({ accessToken: '' }),
		items: 1,
		logins: 0,
		erasures: 0,
		expect: refusal(/no access token/),
	},
	{
		name: 'blank access token',
		credentials: token({ accessToken: '  \t ' }),
		items: 1,
		logins: 0,
		erasures: 0,
		expect: refusal(/no access token/),
	},
	{
		// The HTTP client folds the line break away: no header is injected, the token is refused.
		name: 'access token with CR LF (header injection)',
		credentials: token({ accessToken: `${DEMO_ACCESS_TOKEN}\r\nX-Injected: 1` }),
		items: 2,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(401, [TOKEN_REFUSED]),
	},
	{
		name: 'access token with surrounding spaces is trimmed',
		credentials: token({ accessToken: `  ${DEMO_ACCESS_TOKEN}\n` }),
		items: 2,
		logins: 0,
		erasures: 2,
		expect: success,
		sentBearer: `Bearer ${DEMO_ACCESS_TOKEN}`,
	},
	{
		name: 'wrong password: one login attempt, no erasure',
		credentials: login(),
		arrange: (sim) => void sim.addUser(DEMO_EMAIL, 'a-different-password'),
		items: 5,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /401/, /email and password/]),
	},
	{
		name: 'unknown email: one login attempt, no erasure',
		credentials: login({ email: 'nobody@twin24-simulator.test' }),
		items: 3,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /Invalid email or password/]),
	},
	{
		name: 'wrong password with Continue On Fail: every item fails, one login',
		credentials: login(),
		arrange: (sim) => void sim.addUser(DEMO_EMAIL, 'a-different-password'),
		items: 3,
		options: { maxRetries: 3 },
		continueOnFail: true,
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/]),
	},
	{
		name: 'login refused with 400: one attempt',
		credentials: login(),
		arrange: (sim) => sim.failNext(5, 400, { route: 'login' }),
		items: 3,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /400/]),
	},
	{
		name: 'login answers 200 without a token',
		credentials: login(),
		arrange: (sim) => sim.failNext(5, 200, { route: 'login' }),
		items: 3,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/200 without a token/]),
	},
	{
		name: 'login rate-limited every time: Max Retries bounds the logins',
		credentials: login(),
		arrange: (sim) => sim.failNext(20, 429, { route: 'login' }),
		items: 3,
		options: { concurrency: 1, maxRetries: 1 },
		logins: 2,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /429/]),
	},
	{
		name: 'token expired between runs: one new login, then success',
		credentials: login(),
		warmUp: true,
		arrange: (sim) => sim.expireAllTokens(),
		items: 2,
		options: { concurrency: 1 },
		logins: 1,
		erasures: 3,
		expect: success,
	},
	{
		name: 'every fresh token is refused: one new login, then the run stops',
		credentials: login(),
		arrange: (sim) => sim.configure({ tokenTtlSeconds: 0 }),
		items: 3,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 2,
		erasures: 2,
		expect: failure(401, [TOKEN_REFUSED]),
	},
	{
		name: 'every fresh token is refused, 5 items at once: still one new login',
		credentials: login(),
		arrange: (sim) => sim.configure({ tokenTtlSeconds: 0 }),
		items: 5,
		options: { concurrency: 5, maxRetries: 3 },
		logins: 2,
		erasures: { atMost: 10 },
		expect: failure(401, [TOKEN_REFUSED]),
	},

	{
		name: 'login times out (15 s)',
		credentials: login(),
		arrange: (sim) => sim.configure({ latencyMs: 30_000 }),
		items: 2,
		options: { maxRetries: 0, timeout: 1000 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login/, /no answer|timed out|in time/]),
		maxDurationMs: 20_000,
	},
];

// ---------------------------------------------------------------- credential test (n8n's "Test")

export interface CredentialTestCase {
	name: string;
	credentials: (sim: Twin24Simulator) => ICredentialDataDecryptedObject;
	arrange?: (sim: Twin24Simulator) => void;
	shows: RegExp;
	logins: number;
}

export const CREDENTIAL_TEST_CASES: readonly CredentialTestCase[] = [
	{
		name: 'wrong password',
		credentials: login(),
		arrange: (sim) => void sim.addUser(DEMO_EMAIL, 'a-different-password'),
		shows: /Invalid email or password/,
		logins: 1,
	},
	{
		name: 'IAM base URL with the password in user info',
		credentials: (sim) =>
			loginCredentials(sim, {
				iamBaseUrl: `http://x:${DEMO_PASSWORD}@127.0.0.1:${sim.port}${IAM_BASE_PATH}`,
			}),
		shows: /user name or password/,
		logins: 0,
	},
	{
		name: 'IAM base URL over plain http to a remote host',
		credentials: login({ iamBaseUrl: 'http://iam.twin24.ai/api/v1' }),
		shows: /plain http/,
		logins: 0,
	},
	{
		name: 'login answers 200 without a token',
		credentials: login(),
		arrange: (sim) => sim.failNext(5, 200, { route: 'login' }),
		shows: /without a token/,
		logins: 1,
	},
];
