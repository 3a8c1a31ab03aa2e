/** Hostile server answers (issue 4): what the simulator answers the one erasure request. */
import type { ScriptedAnswer, Twin24Simulator } from '../simulator/simulator';
import { CIS_BASE_PATH } from '../simulator/simulator';
import { DEMO_ACCESS_TOKEN } from '../support';
import type { Outcome } from './shared';
import { failure, success, TIMED_OUT } from './shared';

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
		// Read as JSON and again as text, a bare number recursed until the process ran out of memory.
		name: 'JSON that is a bare number',
		arrange: respond({ status: 400, body: '42', headers: { 'Content-Type': 'application/json' } }),
		requests: 1,
		expect: failure(400, [/42/]),
	},
	{
		name: 'JSON that is a bare true, on a 500 retried up to Max Retries',
		arrange: respond(
			{ status: 500, body: 'true' },
			{ status: 500, body: 'true' },
			{ status: 500, body: 'true' },
		),
		options: { maxRetries: 2 },
		requests: 3,
		expect: failure(500, [/true/]),
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
		name: 'empty 503 body: too many requests, retried past Max Retries while Max Wait allows',
		arrange: respond({ status: 503, body: '', times: 3 }),
		options: { maxRetries: 2 },
		requests: 4,
		expect: success,
	},
	{
		name: "nginx's HTML 503 page, no Retry-After: retried while Max Wait allows, then done",
		arrange: respond({
			status: 503,
			body: '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>',
			headers: { 'Content-Type': 'text/html' },
			times: 4,
		}),
		options: { maxRetries: 1 },
		requests: 5,
		expect: success,
	},
	{
		name: '502 without a body, retried up to Max Retries only',
		arrange: respond({ status: 502, body: '', times: 3 }),
		options: { maxRetries: 2 },
		requests: 3,
		expect: failure(502, [/after 2 retries/]),
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
