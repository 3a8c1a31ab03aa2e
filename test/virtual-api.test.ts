/**
 * The virtual-time API answers as the simulator does: every limit shape, its refusal's status and
 * headers (rendered by the simulator's own function), on the fake clock.
 */
import { parseRetryAfter } from '../nodes/Twin24/transport/pacing/signals';
import { nginxErrorPage, renderRetryAfter } from './simulator/simulator';
import type { Answer } from './virtual-api';
import { VirtualApi, VirtualClock } from './virtual-api';

/** The simulator's latency in the pacing tests and the bench. */
const LATENCY_MS = 20;

function start(limit: ConstructorParameters<typeof VirtualApi>[1]['limit']) {
	const clock = new VirtualClock();
	return { clock, api: new VirtualApi(clock, { limit, latencyMs: LATENCY_MS }) };
}

describe('VirtualApi', () => {
	it('counts a request in flight from its arrival to its answer', async () => {
		const { clock, api } = start({ requestsPerSecond: 1, shape: 'inFlight', maxInFlight: 4 });
		const first = await clock.run(Promise.all(Array.from({ length: 5 }, () => api.request())));
		expect(first.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 429]);
		expect(first[4].headers['retry-after']).toBeUndefined();
		// All four answered by now: four go again, at once.
		const again = await clock.run(Promise.all(Array.from({ length: 4 }, () => api.request())));
		expect(again.every((answer) => answer.admitted)).toBe(true);
		expect(api.refused).toBe(1);
	});

	it("renders an HTTP-date Retry-After from the virtual clock's now, as the simulator would", async () => {
		const { clock, api } = start({
			requestsPerSecond: 100,
			shape: 'tokenBucket',
			burst: 1,
			retryAfter: 'http-date',
			retryAfterSeconds: 2,
		});
		const answers = await clock.run(
			(async (): Promise<Answer[]> => {
				await clock.wait(1500);
				return await Promise.all([api.request(), api.request()]);
			})(),
		);
		expect(answers[1].status).toBe(429);
		expect(answers[1].headers['retry-after']).toBe('Thu, 01 Jan 1970 00:00:04 GMT');
		expect(answers[1].headers['retry-after']).toBe(renderRetryAfter('http-date', 10, 1500, 2));
		expect(parseRetryAfter(answers[1].headers['retry-after'], 1500)).toBe(2500);
	});

	it("answers nginx's limit_req with 503, its HTML page's type and no Retry-After", async () => {
		const { clock, api } = start({ requestsPerSecond: 50, shape: 'leakyBucket', burst: 0 });
		const [admitted, refused] = await clock.run(Promise.all([api.request(), api.request()]));
		expect(admitted).toEqual({
			status: 200,
			headers: {},
			body: '',
			admitted: true,
		});
		expect(refused).toEqual({
			status: 503,
			headers: { 'content-type': 'text/html' },
			body: nginxErrorPage(503),
			admitted: false,
		});
	});

	it("leaves half of the limit to another client's requests on the fake clock", async () => {
		const { clock, api } = start({ requestsPerSecond: 100, backgroundPerSecond: 50 });
		const answers = await clock.run(
			(async (): Promise<Answer[]> => {
				await api.request();
				await clock.wait(1000 - LATENCY_MS);
				return await Promise.all(Array.from({ length: 51 }, () => api.request()));
			})(),
		);
		expect(answers.filter((answer) => answer.admitted)).toHaveLength(50);
		expect(answers[50]).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
	});

	it('sends the rate-limit headers with every answer, the fixed window to its end', async () => {
		const { clock, api } = start({
			requestsPerSecond: 2,
			shape: 'fixedWindow',
			windowSeconds: 2,
			headers: 'ietf-combined',
		});
		const answers = await clock.run(Promise.all(Array.from({ length: 5 }, () => api.request())));
		expect(answers[0].headers).toEqual({
			ratelimit: 'limit=4, remaining=3, reset=2',
			'ratelimit-policy': '4;w=2',
		});
		expect(answers[4]).toMatchObject({ status: 429, headers: { 'retry-after': '2' } });
	});
});
