/**
 * The queue-mode pass of `npm run e2e`: n8n 2.x as main + 2 workers with Redis and Postgres,
 * executions started by production webhooks. Started and stopped here, whatever happens.
 */
import { join } from 'node:path';

import { PRIMARY_N8N } from './config';
import type { RunContext } from './context';
import {
	LEASE_SETTINGS,
	NODE_CONCURRENCY,
	QueueCluster,
	WORKER_CONCURRENCY,
	type WorkerName,
} from './queueCluster';
import { QueueScenarios, type QueueFigures } from './queueScenarios';
import { step, type Checks } from './report';
import { ensureN8n } from './runtime';
import { ensureDebianServices } from './services';

const SCOPE = 'queue mode';

export interface QueueOutcome {
	ran: boolean;
	runMs: number;
	figures?: QueueFigures;
}

async function guarded(checks: Checks, name: string, action: () => Promise<void>): Promise<void> {
	try {
		await action();
	} catch (error) {
		checks.fail(SCOPE, name, error);
	}
}

async function runScenarios(scenarios: QueueScenarios, checks: Checks): Promise<void> {
	let loggedInOn: WorkerName | undefined;
	await guarded(checks, 'first execution logs in', async () => {
		loggedInOn = await scenarios.firstLogin();
	});
	await guarded(checks, '4 concurrent executions', () => scenarios.fourExecutions(loggedInOn));
	await guarded(checks, 'refreshed token reused', () => scenarios.refreshReused());
	await guarded(checks, 'worker killed mid-run', () => scenarios.workerKilled());
	scenarios.checkNoSecretsPrinted();
}

/** Ctrl-C or a SIGTERM while the pass runs still stops every process it started. */
function stopOnSignals(cluster: QueueCluster): () => void {
	const onSignal = (signal: NodeJS.Signals): void => {
		void cluster.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
	};
	process.once('SIGINT', onSignal);
	process.once('SIGTERM', onSignal);
	return () => {
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
	};
}

export async function runQueueMode(inputs: RunContext): Promise<QueueOutcome> {
	const startedAt = Date.now();
	const { config, checks } = inputs;
	step(`queue mode: n8n ${PRIMARY_N8N}, main + 2 workers, Redis, Postgres`);
	let cluster: QueueCluster | undefined;
	let forgetSignals = (): void => undefined;
	try {
		await ensureDebianServices(join(inputs.logDir, 'queue-apt.log'));
		const install = await ensureN8n(
			config.cacheDir,
			PRIMARY_N8N,
			inputs.runtime,
			join(inputs.logDir, `install-${PRIMARY_N8N}.log`),
		);
		cluster = new QueueCluster({
			projectRoot: config.projectRoot,
			runDir: inputs.runDir,
			logDir: inputs.logDir,
			install,
			runtime: inputs.runtime,
			packed: inputs.packed,
			shortLease: config.queueLease === 'short',
		});
		forgetSignals = stopOnSignals(cluster);
		await cluster.start();
		checks.check(
			SCOPE,
			`main + ${cluster.workers.length} workers up (worker concurrency ${WORKER_CONCURRENCY}, node Concurrency ${NODE_CONCURRENCY}, lease ${config.queueLease === 'short' ? JSON.stringify(LEASE_SETTINGS) : "n8n's defaults"})`,
			true,
		);
		const scenarios = new QueueScenarios(cluster, checks);
		await runScenarios(scenarios, checks);
		return { ran: true, runMs: Date.now() - startedAt, figures: scenarios.figures };
	} catch (error) {
		checks.fail(SCOPE, 'queue-mode set-up', error);
		return { ran: false, runMs: Date.now() - startedAt };
	} finally {
		step('queue mode: stopping workers, main, simulator, Redis, Postgres');
		await cluster?.stop();
		forgetSignals();
	}
}

function secondsText(ms: number | undefined): string {
	return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** The pass's figures, as the summary prints them. */
export function describeQueueOutcome(outcome: QueueOutcome): string[] {
	const figures = outcome.figures;
	const lines = [`queue mode: run time ${secondsText(outcome.runMs)}`];
	if (!figures) return lines;
	const ratio =
		figures.fourExecutionsMs === undefined
			? '-'
			: (figures.fourExecutionsMs / figures.floorMs).toFixed(2);
	lines.push(
		`  4 executions × 2,000 IDs under 250 req/s: ${secondsText(figures.fourExecutionsMs)} (${ratio} × the ${secondsText(figures.floorMs)} floor), ${figures.rateLimited ?? '-'} answered 429; workers ${figures.workersOfFour ?? '-'}`,
		`  worker killed after ${figures.killedAtErasures ?? '-'} of 2,000 erasures: marked "${figures.failedStatus ?? '-'}" ${secondsText(figures.killToFailedMs)} later`,
		`  Retry of the killed execution: ${figures.retryOutcome ?? '-'}`,
		`  re-run with Ignore Not Found: ${figures.rerunNotFound ?? '-'} notFound + ${figures.rerunErased ?? '-'} erased in ${secondsText(figures.rerunMs)}`,
	);
	return lines;
}
