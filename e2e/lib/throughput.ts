/**
 * Bulk erasure at speed inside real n8n: 2,000 IDs through the Twin24 node under a 250 req/s
 * limit, timed by n8n's own record of the node's run (`executionTime`), against the floor the
 * limit sets (8 s). Real n8n pays for every parameter read, so this is where reading items while
 * sending shows.
 */
import { TOKEN_CREDENTIAL, bindExample } from './examples';
import type { ScenarioContext } from './scenarios';
import { nodeExecutionTimeMs, nodeItems } from './runData';
import type { LoggedRequest, SimulatorRecord } from './simulator';

export const THROUGHPUT = {
	workflowId: 'tw24Throughput2000',
	items: 2000,
	requestsPerSecond: 250,
	nodeName: 'Depersonalize 2,000 calls',
} as const;

const FLOOR_MS = (THROUGHPUT.items / THROUGHPUT.requestsPerSecond) * 1000;

/** Manual trigger → Code (2,000 IDs) → Twin24, bound to the access-token credential. */
export function throughputWorkflow(): Record<string, unknown> {
	const generate = `return Array.from({ length: ${THROUGHPUT.items} }, (_, index) => ({ json: { id: 'bulk-' + String(index).padStart(5, '0') } }));`;
	const workflow = {
		name: 'Twin24 throughput: 2,000 calls',
		nodes: [
			{
				id: 'a3f0d6f4-0001-4e55-9a10-000000000001',
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{
				id: 'a3f0d6f4-0001-4e55-9a10-000000000002',
				name: 'Generate IDs',
				type: 'n8n-nodes-base.code',
				typeVersion: 2,
				position: [220, 0],
				parameters: { jsCode: generate },
			},
			depersonalizeNode('a3f0d6f4-0001-4e55-9a10-000000000003', THROUGHPUT.nodeName, [440, 0]),
		],
		connections: {
			Start: { main: [[{ node: 'Generate IDs', type: 'main', index: 0 }]] },
			'Generate IDs': { main: [[{ node: THROUGHPUT.nodeName, type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
	return bindExample(workflow, THROUGHPUT.workflowId, TOKEN_CREDENTIAL);
}

/** The Twin24 node erasing the call of each item's `id`, with the default options. */
export function depersonalizeNode(
	id: string,
	name: string,
	position: [number, number],
): Record<string, unknown> {
	return {
		id,
		name,
		type: 'n8n-nodes-twin24.twin24',
		typeVersion: 1,
		position,
		parameters: {
			resource: 'call',
			operation: 'depersonalize',
			callId: '={{ $json.id }}',
			options: {},
		},
	};
}

export type Expect = (name: string, passed: boolean, detail?: string) => void;

/** Runs `scenario` against a fresh simulator that accepts any ID, under a sliding-window limit. */
export async function underLimit(
	ctx: ScenarioContext,
	requestsPerSecond: number,
	scenario: () => Promise<void>,
): Promise<void> {
	await ctx.sim.reset();
	await ctx.sim.configure({ acceptAnyId: true, rateLimit: { requestsPerSecond } });
	try {
		await scenario();
	} finally {
		await ctx.sim.configure({ acceptAnyId: false, rateLimit: null });
	}
}

export function expectErasedOnce(expect: Expect, record: SimulatorRecord, items: number): void {
	expect(
		'every ID erased exactly once',
		new Set(record.erasedIds).size === items &&
			record.erasedIds.length === items &&
			record.duplicateErasures === 0,
		JSON.stringify({ erased: record.erasedIds.length, duplicates: record.duplicateErasures }),
	);
}

/** "8.6 s = 1.07 × the 8 s floor", or "?" when n8n recorded no time. */
export function againstFloor(elapsedMs: number | undefined, floorMs: number): string {
	if (elapsedMs === undefined) return '?';
	return `${elapsedMs / 1000} s = ${(elapsedMs / floorMs).toFixed(2)} × the ${floorMs / 1000} s floor`;
}

/** Runs the workflow with `n8n execute`, checks every ID was erased once, prints the ratio. */
export async function runThroughput(ctx: ScenarioContext): Promise<void> {
	const scope = `${ctx.label} throughput`;
	const expect: Expect = (name, passed, detail) => ctx.checks.check(scope, name, passed, detail);
	ctx.checks.noteRun(
		`${ctx.label}: ${THROUGHPUT.items} IDs under a ${THROUGHPUT.requestsPerSecond} req/s limit via n8n execute`,
	);
	await underLimit(ctx, THROUGHPUT.requestsPerSecond, async () => {
		const { result, output } = await ctx.n8n.execute(THROUGHPUT.workflowId);
		expect('`n8n execute` exits with 0', result.code === 0, `exit code ${result.code}`);
		const items = nodeItems(output, THROUGHPUT.nodeName);
		expect(
			`${THROUGHPUT.items} items out, every one done`,
			items.length === THROUGHPUT.items && items.every((item) => item.json.success === true),
			`${items.length} items, ${items.filter((item) => item.json.success !== true).length} not done`,
		);
		const record = await ctx.sim.record();
		expectErasedOnce(expect, record, THROUGHPUT.items);
		const elapsedMs = nodeExecutionTimeMs(output, THROUGHPUT.nodeName);
		const sending = sendingProfile(await ctx.sim.requests());
		expect(
			`the node's time is recorded: ${againstFloor(elapsedMs, FLOOR_MS)} (target ≤ 1.2 ×), ${record.rateLimited} answered 429; ${sending}`,
			elapsedMs !== undefined,
		);
	});
}

/** From the first erasure request to the last answer, and the requests answered 200 per second. */
export function sendingProfile(log: readonly LoggedRequest[]): string {
	const erasures = log.filter((entry) => entry.route !== 'login');
	if (erasures.length === 0) return 'no request';
	const first = Math.min(...erasures.map((entry) => entry.startedAt));
	const last = Math.max(...erasures.map((entry) => entry.finishedAt));
	const perSecond: number[] = [];
	for (const entry of erasures) {
		if (entry.status !== 200) continue;
		const second = Math.floor((entry.startedAt - first) / 1000);
		perSecond[second] = (perSecond[second] ?? 0) + 1;
	}
	const profile = Array.from(perSecond, (count) => count ?? 0).join(' ');
	return `sending took ${((last - first) / 1000).toFixed(2)} s, 200s per second: ${profile}`;
}
