/**
 * n8n in queue mode on one machine: Postgres, Redis, one main (webhooks, queue) and two workers
 * (they run the executions), each n8n process with its own user folder holding the packed
 * package. Everything is started here and stopped by process id, in reverse order, even when a
 * start fails half-way.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { installCommunityPackage, type PackedProject } from './communityPackage';
import {
	LOGIN_CREDENTIAL,
	TWIN24_NODE_TYPE,
	WEBHOOK_EXAMPLE,
	bindExample,
	credentialDocuments,
	readExample,
} from './examples';
import { N8nInstance, type SharedSettings } from './n8n';
import { delay } from './proc';
import { step } from './report';
import { isObject, type JsonObject } from './runData';
import type { N8nInstall, NodeRuntime } from './runtime';
import { PostgresServer, RedisServer, DATABASE_NAME, DATABASE_USER } from './services';
import { Simulator, freePort } from './simulator';

export const WORKER_NAMES = ['worker-1', 'worker-2'] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

/** Jobs each worker runs at once: with two workers, four executions run side by side. */
export const WORKER_CONCURRENCY = 2;
/** The Twin24 node's Concurrency option in the queue-mode workflows. */
export const NODE_CONCURRENCY = 10;

/**
 * Bull's job lease (n8n defaults: 60 s lease, renewed every 10 s, stalled check every 30 s).
 * Shorter here so that a killed worker's execution is given up within about half a minute;
 * the lease stays long enough for a busy 2-core machine to renew it.
 */
export const LEASE_SETTINGS = {
	QUEUE_WORKER_LOCK_DURATION: '20000',
	QUEUE_WORKER_LOCK_RENEW_TIME: '4000',
	QUEUE_WORKER_STALLED_INTERVAL: '5000',
} as const;

/** Webhook workflows: four that erase (one per concurrent execution) and one that finishes with Ignore Not Found. */
export const ERASE_WORKFLOWS = [1, 2, 3, 4].map((n) => ({
	id: `tw24QueueErase00${n}`,
	path: `twin24-queue-erase-${n}`,
}));
export const FINISH_WORKFLOW = { id: 'tw24QueueFinish001', path: 'twin24-queue-finish' };

export interface QueueClusterInputs {
	projectRoot: string;
	runDir: string;
	logDir: string;
	install: N8nInstall;
	runtime: NodeRuntime;
	packed: PackedProject;
	/** `false` keeps n8n's default lease settings (to measure how long n8n takes with them). */
	shortLease: boolean;
}

export interface WorkerProcess {
	name: WorkerName;
	n8n: N8nInstance;
}

export class QueueCluster {
	private readonly stops: { what: string; stop: () => Promise<void> }[] = [];
	main!: N8nInstance;
	workers: WorkerProcess[] = [];
	postgres!: PostgresServer;
	sim!: Simulator;

	constructor(private readonly inputs: QueueClusterInputs) {}

	/** Starts everything; on failure, stops what was started and rethrows. */
	async start(): Promise<void> {
		try {
			await this.startAll();
		} catch (error) {
			await this.stop();
			throw error;
		}
	}

	private remember(what: string, stop: () => Promise<void>): void {
		this.stops.push({ what, stop });
	}

	private log(name: string): string {
		return join(this.inputs.logDir, `queue-${name}.log`);
	}

	private async startAll(): Promise<void> {
		this.postgres = await PostgresServer.start(this.log('postgres'));
		this.remember('postgres', () => this.postgres.stop());
		const redis = await RedisServer.start(this.inputs.runDir, this.log('redis'));
		this.remember('redis', () => redis.stop());
		step(
			`queue mode: postgres pid ${this.postgres.pid} port ${this.postgres.port}; redis-server pid ${redis.pid} port ${redis.port}`,
		);
		this.sim = await Simulator.start(this.inputs.projectRoot, this.log('simulator'));
		this.remember('simulator', () => this.sim.stop());
		const shared = this.sharedSettings(redis.port);
		const [main, ...workers] = await Promise.all([
			this.prepareInstance('main', shared, {}),
			...WORKER_NAMES.map((name) => this.prepareWorker(name, shared)),
		]);
		this.main = main;
		await this.importWorkflows();
		await this.main.startServer();
		this.remember('main', () => this.main.stopServer());
		await this.waitForWebhooks();
		step(`queue mode: main pid ${this.main.serverPid} on ${this.main.baseUrl}`);
		await Promise.all(workers.map((worker) => this.startWorker(worker)));
	}

	private sharedSettings(redisPort: number): SharedSettings {
		return {
			encryptionKey: randomBytes(24).toString('hex'),
			env: {
				EXECUTIONS_MODE: 'queue',
				QUEUE_BULL_REDIS_HOST: '127.0.0.1',
				QUEUE_BULL_REDIS_PORT: String(redisPort),
				DB_TYPE: 'postgresdb',
				DB_POSTGRESDB_HOST: '127.0.0.1',
				DB_POSTGRESDB_PORT: String(this.postgres.port),
				DB_POSTGRESDB_DATABASE: DATABASE_NAME,
				DB_POSTGRESDB_USER: DATABASE_USER,
				DB_POSTGRESDB_PASSWORD: '',
				...(this.inputs.shortLease ? LEASE_SETTINGS : {}),
			},
		};
	}

	/** A user folder with the package installed, and the instance's own ports. */
	private async prepareInstance(
		name: string,
		shared: SharedSettings,
		ownEnv: NodeJS.ProcessEnv,
	): Promise<N8nInstance> {
		const userFolder = join(this.inputs.runDir, `queue-${name}`);
		mkdirSync(userFolder, { recursive: true });
		const ports = { main: await freePort(), runnerBroker: await freePort() };
		const n8n = new N8nInstance(
			this.inputs.install,
			this.inputs.runtime,
			userFolder,
			ports,
			this.log(name),
			{ encryptionKey: shared.encryptionKey, env: { ...shared.env, ...ownEnv } },
		);
		await installCommunityPackage(
			n8n.nodesDir,
			this.inputs.packed,
			this.inputs.runtime,
			this.log(name),
		);
		return n8n;
	}

	private async prepareWorker(
		name: WorkerName,
		shared: SharedSettings,
	): Promise<WorkerProcess & { healthPort: number }> {
		const healthPort = await freePort();
		const n8n = await this.prepareInstance(name, shared, {
			QUEUE_HEALTH_CHECK_ACTIVE: 'true',
			QUEUE_HEALTH_CHECK_PORT: String(healthPort),
			N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
		});
		return { name, n8n, healthPort };
	}

	private async startWorker(worker: WorkerProcess & { healthPort: number }): Promise<void> {
		this.workers.push({ name: worker.name, n8n: worker.n8n });
		this.remember(worker.name, () => worker.n8n.stopServer());
		await worker.n8n.startWorker(WORKER_CONCURRENCY, worker.healthPort);
		step(
			`queue mode: ${worker.name} pid ${worker.n8n.serverPid} (concurrency ${WORKER_CONCURRENCY})`,
		);
	}

	/** Credentials and workflows go into the shared database through the main's CLI, then get published. */
	private async importWorkflows(): Promise<void> {
		const example = readExample(join(this.inputs.projectRoot, 'examples'), WEBHOOK_EXAMPLE);
		const workflows = [
			...ERASE_WORKFLOWS.map((workflow) => queueWorkflow(example, workflow, false)),
			queueWorkflow(example, FINISH_WORKFLOW, true),
		];
		await this.main.importJson(
			'credentials',
			'credentials.json',
			credentialDocuments(this.sim.info),
		);
		await this.main.importJson('workflow', 'workflows.json', workflows);
		await Promise.all(
			[...ERASE_WORKFLOWS, FINISH_WORKFLOW].map((workflow) =>
				this.main.activateWorkflow(workflow.id),
			),
		);
	}

	/**
	 * The main registers production webhooks after its REST API is up. A CORS preflight answers
	 * 204 once a path is registered (404 before) and, unlike a POST, starts no execution.
	 */
	private async waitForWebhooks(): Promise<void> {
		const deadline = Date.now() + 120_000;
		while (Date.now() < deadline) {
			const answers = await Promise.all(
				[...ERASE_WORKFLOWS, FINISH_WORKFLOW].map((workflow) => this.preflight(workflow.path)),
			);
			if (answers.every((status) => status === 204)) return;
			await delay(1000);
		}
		throw new Error('production webhooks not registered within 120 s');
	}

	private async preflight(path: string): Promise<number> {
		const response = await fetch(this.webhookUrl(path), {
			method: 'OPTIONS',
			headers: { origin: this.main.baseUrl, 'access-control-request-method': 'POST' },
		});
		await response.body?.cancel();
		return response.status;
	}

	webhookUrl(path: string): string {
		return `${this.main.baseUrl}/webhook/${path}`;
	}

	worker(name: WorkerName): WorkerProcess {
		const worker = this.workers.find((candidate) => candidate.name === name);
		if (!worker) throw new Error(`no ${name}`);
		return worker;
	}

	/** Stops everything started, last first; never throws. */
	async stop(): Promise<void> {
		for (const { what, stop } of this.stops.reverse()) {
			try {
				await stop();
			} catch (error) {
				console.error(`queue mode: stopping ${what} failed: ${String(error)}`);
			}
		}
		this.stops.length = 0;
	}
}

/** The CRM webhook example, bound to the login credential, on its own path, Concurrency and Ignore Not Found set. */
function queueWorkflow(
	example: JsonObject,
	workflow: { id: string; path: string },
	ignoreNotFound: boolean,
): JsonObject {
	const bound = bindExample(example, workflow.id, LOGIN_CREDENTIAL);
	const nodes = Array.isArray(bound.nodes) ? bound.nodes.filter(isObject) : [];
	for (const node of nodes) {
		const parameters = isObject(node.parameters) ? node.parameters : {};
		if (node.type === 'n8n-nodes-base.webhook') {
			node.parameters = { ...parameters, path: workflow.path };
			node.webhookId = randomUUID();
		} else if (node.type === TWIN24_NODE_TYPE) {
			node.parameters = {
				...parameters,
				options: { ignoreNotFound, concurrency: NODE_CONCURRENCY },
			};
		}
	}
	return { ...bound, name: `Twin24 queue mode ${workflow.path}` };
}
