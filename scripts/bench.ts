/**
 * npm run bench [-- --scenario pacing|rate|overhead|memory|all] [--shape TEXT] [--rows] [--trace] [--chart FILE] [--stall-items N]
 *                  [--items N] [--latency MS] [--limit RPS] [--concurrency N]
 *
 * Runs the Twin24 node through n8n's engine against the simulator and prints figures. Each
 * measured run gets a process of its own (clean CPU and memory figures), and the simulator
 * runs in another process, as a real API would. The default is the pacing suite: the machine's
 * no-limit capacity, each shape of rate limit, two executions on one account, runs that follow one
 * another (back-to-back executions, Loop Over Items), the chart of it all (docs/images/pacing.svg,
 * or --chart FILE), and the longest event-loop stall at 20,000 items.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INodeParameters,
	IExecuteFunctions,
	INodeExecutionData,
	IRun,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { OPTION_BOUNDS } from '../nodes/Twin24/actions/descriptions';
import { LOOP_DONE_NODE, loopShape, runTwin24 } from '../test/harness/engine';
import type { BenchTools, PacingChoice } from './bench-pacing';
import { runPacingSuite } from './bench-pacing';

interface Scenario {
	name: string;
	title: string;
	items: number;
	latencyMs: number;
	/** Requests per second the simulator admits; 0 for no limit. */
	limit: number;
	/** undefined: the node's default. */
	concurrency?: number;
	/** Also run the bare comparison node. */
	compareBare: boolean;
	/** Sample the live heap (after a forced GC) during the run: slower, but memory figures. */
	sampleLiveHeap: boolean;
}

interface SimulatorInfo {
	origin: string;
	cisBaseUrl: string;
	accessToken: string;
	controlUrl: string;
}

interface WorkerJob {
	node: 'twin24' | 'bare';
	sampleLiveHeap: boolean;
	items: number;
	concurrency?: number;
	simulator: SimulatorInfo;
	/** Executions run at once on the same account, instead of one of `items`. */
	executions?: ExecutionJob[];
	/** Executions one after another on the same account, `items` split evenly between them. */
	runs?: number;
	/** One execution that loops over `items` in batches of this size, as Loop Over Items does. */
	loopBatchSize?: number;
	/** Record the longest event-loop stall of the measured run. */
	measureStall?: boolean;
}

interface ExecutionJob {
	/** Prefix of this execution's IDs, to tell its requests apart in the simulator's log. */
	prefix: string;
	items: number;
	concurrency: number;
}

interface ExecutionResult {
	prefix: string;
	wallMs: number;
	succeeded: number;
	failed: number;
	error?: string;
	contextBytes?: number;
}

interface WorkerResult {
	wallMs: number;
	cpuMs: number;
	succeeded: number;
	failed: number;
	peakRssBytes: number;
	/** Highest heap use during the run above the heap before it (live only with sampleLiveHeap). */
	peakHeapGrowthBytes: number;
	heapGrowthBytes: number;
	error?: string;
	/** Longest event-loop stall of the measured run (measureStall). */
	stallMs?: number;
	executions?: ExecutionResult[];
	/** The execution's node contexts as JSON (n8n saves them with the execution), in bytes. */
	contextBytes?: number;
}

interface SimulatorState {
	stats: { requests: number; rateLimited: number };
	duplicateErasures: number;
	erasureCount: number;
}

// ---------------------------------------------------------------- the comparison node

/**
 * The least a node can do for the same job: read the ID from the same per-item expression,
 * send one authenticated request per item, one after another, check nothing. Its CPU time and
 * memory are the engine's, the expression's and n8n's HTTP stack's share.
 */
class BareRequestNode implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Bare Request',
		name: 'bareRequest',
		group: ['transform'],
		version: 1,
		description: 'One request per item',
		defaults: { name: 'Bare Request' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'twin24Api', required: true }],
		properties: [
			{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '' },
			{ displayName: 'Call ID', name: 'callId', type: 'string', default: '' },
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const output: INodeExecutionData[] = [];
		for (let index = 0; index < items.length; index++) {
			const baseUrl = this.getNodeParameter('baseUrl', index) as string;
			const callId = this.getNodeParameter('callId', index) as string;
			await this.helpers.httpRequestWithAuthentication.call(this, 'twin24Api', {
				method: 'POST',
				url: `${baseUrl}/calls/${encodeURIComponent(callId)}/depersonalization`,
				body: { skipDeleteRecord: false },
				json: true,
			});
			output.push({ json: { success: true }, pairedItem: { item: index } });
		}
		return [output];
	}
}

// ---------------------------------------------------------------- worker: one measured run

async function runWorker(job: WorkerJob): Promise<WorkerResult> {
	const items: IDataObject[] = Array.from({ length: job.items }, (_, index) => ({
		id: `bench-${job.node}-${index}`,
	}));
	const credentials: ICredentialDataDecryptedObject = {
		authMode: 'accessToken',
		accessToken: job.simulator.accessToken,
		cisBaseUrl: job.simulator.cisBaseUrl,
	};
	const options = job.concurrency === undefined ? {} : { concurrency: job.concurrency };
	const twin24: INodeParameters = {
		resource: 'call',
		operation: 'depersonalize',
		callId: '={{ $json.id }}',
		options,
	};
	const bare = { baseUrl: job.simulator.cisBaseUrl, callId: '={{ $json.id }}' };
	// Warm up the engine and the HTTP stack outside the measured run, on an account of its own: a
	// pace it found would be taken up by the measured run.
	await runTwin24({
		items: [{ id: `warm-${job.node}` }],
		parameters: twin24,
		credentials,
		credentialId: 'bench-warm-up',
	});
	collectGarbage();
	const heapBefore = process.memoryUsage().heapUsed;
	let peakHeapUsed = heapBefore;
	// A full GC before each sample, so the peak is what the run really holds, not garbage. Samples
	// are spaced so that the GCs take at most a fifth of the time: big runs would crawl otherwise.
	let sampler: NodeJS.Timeout | undefined;
	const sample = () => {
		const gcStartedAt = performance.now();
		collectGarbage();
		peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
		sampler = setTimeout(sample, Math.max(250, 4 * (performance.now() - gcStartedAt)));
	};
	if (job.sampleLiveHeap) sampler = setTimeout(sample, 250);
	const stall = job.measureStall ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
	stall?.enable();
	const cpuBefore = process.cpuUsage();
	const startedAt = performance.now();
	const executions = await runMeasured(job, items, { twin24, bare }, credentials, startedAt);
	const wallMs = performance.now() - startedAt;
	const cpu = process.cpuUsage(cpuBefore);
	stall?.disable();
	clearTimeout(sampler);
	collectGarbage();
	const heapGrowthBytes = process.memoryUsage().heapUsed - heapBefore;
	const sum = (pick: (execution: ExecutionResult) => number) =>
		executions.reduce((total, execution) => total + pick(execution), 0);
	return {
		wallMs,
		cpuMs: (cpu.user + cpu.system) / 1000,
		succeeded: sum((execution) => execution.succeeded),
		failed: sum((execution) => execution.failed),
		peakRssBytes: process.resourceUsage().maxRSS * 1024,
		peakHeapGrowthBytes: peakHeapUsed - heapBefore,
		heapGrowthBytes,
		error: executions.find((execution) => execution.error !== undefined)?.error,
		stallMs: stall === undefined ? undefined : stall.max / 1e6,
		executions,
		contextBytes: sum((execution) => execution.contextBytes ?? 0),
	};
}

async function runMeasured(
	job: WorkerJob,
	items: IDataObject[],
	parameters: { twin24: INodeParameters; bare: IDataObject },
	credentials: ICredentialDataDecryptedObject,
	startedAt: number,
): Promise<ExecutionResult[]> {
	if (job.executions !== undefined)
		return await runExecutions(job.executions, credentials, startedAt);
	if (job.runs !== undefined)
		return await runInSequence(job.runs, items, parameters.twin24, credentials, startedAt);
	if (job.loopBatchSize !== undefined)
		return [await runLoop(job.loopBatchSize, items, parameters.twin24, credentials, startedAt)];
	return [await runOne(job, items, parameters, credentials, startedAt)];
}

function executionResult(
	prefix: string,
	items: number,
	result: { output?: INodeExecutionData[]; error?: { message: string }; run?: IRun },
	startedAt: number,
): ExecutionResult {
	const succeeded = (result.output ?? []).filter((item) => item.json.success === true).length;
	const contextData = result.run?.data.executionData?.contextData ?? {};
	return {
		prefix,
		wallMs: performance.now() - startedAt,
		succeeded,
		failed: items - succeeded,
		error: result.error?.message,
		contextBytes: JSON.stringify(contextData).length,
	};
}

/** Executions of the Twin24 node one after another, on one credential (one account). */
async function runInSequence(
	runs: number,
	items: IDataObject[],
	parameters: INodeParameters,
	credentials: ICredentialDataDecryptedObject,
	startedAt: number,
): Promise<ExecutionResult[]> {
	const size = Math.ceil(items.length / runs);
	const results: ExecutionResult[] = [];
	for (let from = 0; from < items.length; from += size) {
		const batch = items.slice(from, from + size);
		const result = await runTwin24({ items: batch, parameters, credentials });
		results.push(executionResult('bench-twin24', batch.length, result, startedAt));
	}
	return results;
}

/** One execution: items → Loop Over Items ⇄ Twin24, the loop's "done" output as the result. */
async function runLoop(
	batchSize: number,
	items: IDataObject[],
	parameters: INodeParameters,
	credentials: ICredentialDataDecryptedObject,
	startedAt: number,
): Promise<ExecutionResult> {
	const run = await runTwin24({ items, parameters, credentials, shape: loopShape(batchSize) });
	const result = { output: run.result.output(LOOP_DONE_NODE), error: run.error, run: run.run };
	return executionResult('bench-twin24', items.length, result, startedAt);
}

async function runOne(
	job: WorkerJob,
	items: IDataObject[],
	parameters: { twin24: INodeParameters; bare: IDataObject },
	credentials: ICredentialDataDecryptedObject,
	startedAt: number,
): Promise<ExecutionResult> {
	const result =
		job.node === 'twin24'
			? await runTwin24({ items, parameters: parameters.twin24, credentials })
			: await runBareNode(items, parameters.bare, credentials);
	return executionResult(`bench-${job.node}`, items.length, result, startedAt);
}

/** Executions of the Twin24 node started together, on one credential (one account). */
async function runExecutions(
	jobs: readonly ExecutionJob[],
	credentials: ICredentialDataDecryptedObject,
	startedAt: number,
): Promise<ExecutionResult[]> {
	return await Promise.all(
		jobs.map(async (execution) => {
			const items = Array.from({ length: execution.items }, (_, index) => ({
				id: `${execution.prefix}-${index}`,
			}));
			const parameters = {
				resource: 'call',
				operation: 'depersonalize',
				callId: '={{ $json.id }}',
				options: { concurrency: execution.concurrency },
			};
			const result = await runTwin24({ items, parameters, credentials });
			return executionResult(execution.prefix, execution.items, result, startedAt);
		}),
	);
}

async function runBareNode(
	items: IDataObject[],
	parameters: IDataObject,
	credentials: IDataObject,
): ReturnType<typeof runTwin24> {
	const { runWorkflow, itemSourceNode } = await import('../test/harness/engine');
	const source = itemSourceNode(items);
	const run = await runWorkflow({
		extraNodeTypes: { 'bench.bareRequest': new BareRequestNode() },
		nodes: [
			source,
			{
				id: 'bare',
				name: 'Bare',
				type: 'bench.bareRequest',
				typeVersion: 1,
				position: [250, 0],
				parameters: parameters as never,
				credentials: { twin24Api: { id: 'bench', name: 'Twin24' } },
			},
		],
		connections: { [source.name]: { main: [[{ node: 'Bare', type: 'main', index: 0 }]] } },
		credentials: { bench: { type: 'twin24Api', name: 'Twin24', data: credentials as never } },
	});
	return {
		run: run.run,
		output: run.output('Bare'),
		error: run.error('Bare'),
		store: run.store,
		result: run,
	};
}

function collectGarbage(): void {
	(globalThis as { gc?: () => void }).gc?.();
}

// ---------------------------------------------------------------- orchestrator

async function startSimulator(): Promise<{ info: SimulatorInfo; stop: () => void }> {
	const child = spawn(
		process.execPath,
		[`${__dirname}/../test/simulator/cli.js`, '--accept-any-id'],
		{
			stdio: ['ignore', 'pipe', 'inherit'],
		},
	);
	const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
	return { info: JSON.parse(line) as SimulatorInfo, stop: () => child.kill('SIGTERM') };
}

/** A fresh simulator state (no erasures, empty log) with the scenario's latency and limit. */
async function prepareSimulator(info: SimulatorInfo, scenario: Scenario): Promise<void> {
	await control(info, 'reset', {});
	await control(info, 'configure', {
		latencyMs: scenario.latencyMs,
		rateLimit:
			scenario.limit > 0 ? { requestsPerSecond: scenario.limit, retryAfter: 'seconds' } : null,
		logBodies: false,
		logHeaders: false,
	});
}

async function control(info: SimulatorInfo, action: string, body?: unknown): Promise<unknown> {
	const response = await fetch(`${info.controlUrl}/${action}`, {
		method: body === undefined ? 'GET' : 'POST',
		headers: { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	if (!response.ok) throw new Error(`simulator ${action}: HTTP ${response.status}`);
	return (await response.json()) as unknown;
}

async function simulatorState(info: SimulatorInfo): Promise<SimulatorState> {
	const state = (await control(info, 'state')) as {
		stats: SimulatorState['stats'];
		duplicateErasures: number;
		erasures: unknown[];
	};
	return {
		stats: state.stats,
		duplicateErasures: state.duplicateErasures,
		erasureCount: state.erasures.length,
	};
}

async function measure(job: WorkerJob): Promise<WorkerResult> {
	const child = spawn(
		process.execPath,
		['--expose-gc', __filename, '--worker', JSON.stringify(job)],
		{
			stdio: ['ignore', 'pipe', 'inherit'],
		},
	);
	let output = '';
	child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const [code] = (await once(child, 'exit')) as [number];
	if (code !== 0) throw new Error(`benchmark worker exited with ${code}`);
	return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as WorkerResult;
}

const format = {
	ms: (ms: number) => `${(ms / 1000).toFixed(2)} s`,
	mb: (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`,
	perItem: (ms: number, items: number) => `${((ms * 1000) / items).toFixed(0)} µs`,
};

function print(rows: Array<[string, string]>): void {
	const width = Math.max(...rows.map(([label]) => label.length));
	for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

async function runScenario(scenario: Scenario): Promise<void> {
	console.log(`\n${scenario.title}`);
	const simulator = await startSimulator();
	try {
		await prepareSimulator(simulator.info, scenario);
		const twin24 = await measure({
			node: 'twin24',
			sampleLiveHeap: scenario.sampleLiveHeap,
			items: scenario.items,
			concurrency: scenario.concurrency,
			simulator: simulator.info,
		});
		const state = await simulatorState(simulator.info);
		const concurrency = scenario.concurrency ?? OPTION_BOUNDS.concurrency.default;
		const floorMs = Math.max(
			scenario.limit > 0 ? (scenario.items / scenario.limit) * 1000 : 0,
			(scenario.items * scenario.latencyMs) / concurrency,
		);
		const erasureRequests = state.stats.requests - 1; // less the warm-up request
		const liveHeapRows = (label: string, bytes: number): Array<[string, string]> =>
			scenario.sampleLiveHeap ? [[label, `${(bytes / scenario.items).toFixed(0)} B`]] : [];
		print([
			['items', `${scenario.items}`],
			[
				'latency / limit / concurrency',
				`${scenario.latencyMs} ms / ${scenario.limit > 0 ? `${scenario.limit} req/s` : 'none'} / ${concurrency}`,
			],
			['wall time', format.ms(twin24.wallMs)],
			['requests/s', (erasureRequests / (twin24.wallMs / 1000)).toFixed(0)],
			...(floorMs > 0
				? ([
						['floor max(N/limit, N×latency/concurrency)', format.ms(floorMs)],
						['wall / floor', (twin24.wallMs / floorMs).toFixed(3)],
					] as Array<[string, string]>)
				: []),
			['429s seen', `${state.stats.rateLimited}`],
			['retries', `${erasureRequests - scenario.items}`],
			['failed items', `${twin24.failed}${twin24.error ? ` (${twin24.error})` : ''}`],
			['duplicate erasures', `${state.duplicateErasures}`],
			['CPU time per item', format.perItem(twin24.cpuMs, scenario.items)],
			['peak RSS', format.mb(twin24.peakRssBytes)],
			...liveHeapRows('peak live heap per item', twin24.peakHeapGrowthBytes),
			[
				'heap kept per item (output included)',
				`${(twin24.heapGrowthBytes / scenario.items).toFixed(0)} B`,
			],
			[
				'node context saved with the execution, per item (what later runs of the node read)',
				`${((twin24.contextBytes ?? 0) / scenario.items).toFixed(1)} B`,
			],
		]);
		if (!scenario.compareBare) return;
		await prepareSimulator(simulator.info, scenario);
		const bare = await measure({
			node: 'bare',
			sampleLiveHeap: scenario.sampleLiveHeap,
			items: scenario.items,
			simulator: simulator.info,
		});
		print([
			['bare node: wall time', format.ms(bare.wallMs)],
			['bare node: CPU time per item', format.perItem(bare.cpuMs, scenario.items)],
			['CPU per item, Twin24 / bare', (twin24.cpuMs / bare.cpuMs).toFixed(3)],
			['bare node: peak RSS', format.mb(bare.peakRssBytes)],
			...liveHeapRows('bare node: peak live heap per item', bare.peakHeapGrowthBytes),
			...liveHeapRows(
				'memory per item added by Twin24 (peak live heap)',
				twin24.peakHeapGrowthBytes - bare.peakHeapGrowthBytes,
			),
			['bare node: heap kept per item', `${(bare.heapGrowthBytes / scenario.items).toFixed(0)} B`],
			[
				'memory per item added by Twin24 (peak RSS)',
				`${((twin24.peakRssBytes - bare.peakRssBytes) / scenario.items).toFixed(0)} B`,
			],
			[
				'memory per item added by Twin24 (heap kept)',
				`${((twin24.heapGrowthBytes - bare.heapGrowthBytes) / scenario.items).toFixed(0)} B`,
			],
		]);
	} finally {
		simulator.stop();
	}
}

function argument(args: readonly string[], name: string): string | undefined {
	const index = args.indexOf(`--${name}`);
	return index >= 0 ? args[index + 1] : undefined;
}

function scenarios(args: readonly string[]): Scenario[] {
	const number = (name: string, fallback: number) => Number(argument(args, name) ?? fallback);
	const concurrencyArgument = argument(args, 'concurrency');
	const concurrency = concurrencyArgument === undefined ? undefined : Number(concurrencyArgument);
	const all: Scenario[] = [
		{
			name: 'rate',
			title: 'Rate-limited API: latency and a limit, default options',
			items: number('items', 5000),
			latencyMs: number('latency', 20),
			limit: number('limit', 250),
			concurrency,
			compareBare: false,
			sampleLiveHeap: false,
		},
		{
			name: 'overhead',
			title: 'Pure overhead: no latency, no limit, against a bare node in the same engine',
			items: number('items', 5000),
			latencyMs: 0,
			limit: 0,
			concurrency,
			compareBare: true,
			sampleLiveHeap: false,
		},
		{
			name: 'memory',
			title: `Memory: ${number('items', 50000).toLocaleString('en')} items, no latency (live heap sampled after forced GCs: slower)`,
			items: number('items', 50000),
			latencyMs: 0,
			limit: 0,
			concurrency,
			compareBare: true,
			sampleLiveHeap: true,
		},
	];
	return all;
}

async function main(args: readonly string[]): Promise<void> {
	const workerJob = argument(args, 'worker');
	if (workerJob !== undefined) {
		console.log(JSON.stringify(await runWorker(JSON.parse(workerJob) as WorkerJob)));
		return;
	}
	console.log(`Twin24 node benchmark (Node.js ${process.version}, simulator in its own process)`);
	const only = argument(args, 'scenario') ?? 'pacing';
	if (only === 'pacing' || only === 'all')
		await runPacing({
			only: argument(args, 'shape'),
			chart: argument(args, 'chart'),
			trace: args.includes('--trace'),
			listRows: args.includes('--rows'),
			stallItems: args.includes('--stall-items')
				? Number(argument(args, 'stall-items'))
				: undefined,
		});
	for (const scenario of scenarios(args)) {
		if (only === 'all' || only === scenario.name) await runScenario(scenario);
	}
}

async function runPacing(choice: PacingChoice): Promise<void> {
	const simulator = await startSimulator();
	const tools: BenchTools = {
		control: async (action, body) => await control(simulator.info, action, body),
		measure: async (job) =>
			await measure({ node: 'twin24', sampleLiveHeap: false, simulator: simulator.info, ...job }),
	};
	try {
		await runPacingSuite(tools, choice);
	} finally {
		simulator.stop();
	}
}

main(process.argv.slice(2)).catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
