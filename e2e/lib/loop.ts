/**
 * Loop Over Items inside real n8n: 2,000 IDs through n8n's own Loop Over Items node
 * (`splitInBatches`, batch size 50) and the Twin24 node under a 250 req/s limit: 40 runs of the
 * node in one execution, each taking up the pace the runs before it found. Timed by n8n's own
 * record of the runs (`startTime`, `executionTime`) against the floor the limit sets (8 s).
 */
import { TOKEN_CREDENTIAL, bindExample } from './examples';
import { isObject, nodeItems, runCount } from './runData';
import type { ScenarioContext } from './scenarios';
import type { Expect } from './throughput';
import {
	againstFloor,
	depersonalizeNode,
	expectErasedOnce,
	sendingProfile,
	underLimit,
} from './throughput';

export const LOOP = {
	workflowId: 'tw24Loop2000x50',
	items: 2000,
	batchSize: 50,
	requestsPerSecond: 250,
	loopName: 'Loop Over Items',
	nodeName: 'Depersonalize a batch',
} as const;

const FLOOR_MS = (LOOP.items / LOOP.requestsPerSecond) * 1000;
const ROUNDS = LOOP.items / LOOP.batchSize;

/** Manual trigger → Code (2,000 IDs) → Loop Over Items ⇄ Twin24, bound to the access-token credential. */
export function loopWorkflow(): Record<string, unknown> {
	const generate = `return Array.from({ length: ${LOOP.items} }, (_, index) => ({ json: { id: 'loop-' + String(index).padStart(5, '0') } }));`;
	const node = (suffix: string, rest: Record<string, unknown>) => ({
		id: `b4e1c7a5-0002-4e55-9a10-00000000000${suffix}`,
		...rest,
	});
	const workflow = {
		name: 'Twin24 Loop Over Items: 2,000 calls in batches of 50',
		nodes: [
			node('1', {
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			}),
			node('2', {
				name: 'Generate IDs',
				type: 'n8n-nodes-base.code',
				typeVersion: 2,
				position: [220, 0],
				parameters: { jsCode: generate },
			}),
			node('3', {
				name: LOOP.loopName,
				type: 'n8n-nodes-base.splitInBatches',
				typeVersion: 3,
				position: [440, 0],
				parameters: { batchSize: LOOP.batchSize, options: {} },
			}),
			depersonalizeNode('b4e1c7a5-0002-4e55-9a10-000000000004', LOOP.nodeName, [660, 100]),
		],
		connections: {
			Start: { main: [[{ node: 'Generate IDs', type: 'main', index: 0 }]] },
			'Generate IDs': { main: [[{ node: LOOP.loopName, type: 'main', index: 0 }]] },
			// Output 0 is "done" (every item once the loop is over), output 1 the next batch.
			[LOOP.loopName]: { main: [[], [{ node: LOOP.nodeName, type: 'main', index: 0 }]] },
			[LOOP.nodeName]: { main: [[{ node: LOOP.loopName, type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
	return bindExample(workflow, LOOP.workflowId, TOKEN_CREDENTIAL);
}

interface TimedRun {
	startTime: number;
	executionTime: number;
}

/** When each run of the node started and how long it took, as n8n recorded them. */
function timedRuns(run: unknown, nodeName: string): TimedRun[] {
	const resultData = isObject(run) && isObject(run.data) ? run.data.resultData : undefined;
	const runData = isObject(resultData) ? resultData.runData : undefined;
	const runs = isObject(runData) ? runData[nodeName] : undefined;
	return (Array.isArray(runs) ? runs : []).filter(
		(entry): entry is TimedRun =>
			isObject(entry) &&
			typeof entry.startTime === 'number' &&
			typeof entry.executionTime === 'number',
	);
}

/** From the loop node's first run to the end of its last (the done one). */
function loopSpanMs(run: unknown): number | undefined {
	const loop = timedRuns(run, LOOP.loopName);
	if (loop.length === 0) return undefined;
	const last = loop[loop.length - 1];
	return last.startTime + last.executionTime - loop[0].startTime;
}

/** The Twin24 runs' own times: their sum, and the slowest. */
function roundsProfile(run: unknown): string {
	const times = timedRuns(run, LOOP.nodeName).map((round) => round.executionTime);
	if (times.length === 0) return 'no round recorded';
	const sum = times.reduce((total, time) => total + time, 0);
	const slowest = [...times].sort((a, b) => b - a).slice(0, 3);
	return `the Twin24 runs took ${(sum / 1000).toFixed(2)} s together (slowest ${slowest.map((time) => (time / 1000).toFixed(2)).join(', ')} s)`;
}

/** Runs the workflow with `n8n execute`, checks every ID was erased once, prints the ratio. */
export async function runLoop(ctx: ScenarioContext): Promise<void> {
	const scope = `${ctx.label} loop`;
	const expect: Expect = (name, passed, detail) => ctx.checks.check(scope, name, passed, detail);
	ctx.checks.noteRun(
		`${ctx.label}: ${LOOP.items} IDs through Loop Over Items (batches of ${LOOP.batchSize}) under a ${LOOP.requestsPerSecond} req/s limit via n8n execute`,
	);
	await underLimit(ctx, LOOP.requestsPerSecond, async () => {
		const { result, output } = await ctx.n8n.execute(LOOP.workflowId);
		expect('`n8n execute` exits with 0', result.code === 0, `exit code ${result.code}`);
		const rounds = runCount(output, LOOP.nodeName);
		expect(`the Twin24 node ran ${ROUNDS} times, once per batch`, rounds === ROUNDS, `${rounds}`);
		const done = nodeItems(output, LOOP.loopName, 0);
		expect(
			`${LOOP.items} items out of the loop's "done" output, every one done`,
			done.length === LOOP.items && done.every((item) => item.json.success === true),
			`${done.length} items, ${done.filter((item) => item.json.success !== true).length} not done`,
		);
		const record = await ctx.sim.record();
		expectErasedOnce(expect, record, LOOP.items);
		const spanMs = loopSpanMs(output);
		const sending = sendingProfile(await ctx.sim.requests());
		expect(
			`the loop's time is recorded: ${againstFloor(spanMs, FLOOR_MS)} (target ≤ 1.2 ×), ${record.rateLimited} answered 429; ${roundsProfile(output)}; ${sending}`,
			spanMs !== undefined,
		);
	});
}
