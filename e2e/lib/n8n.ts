/**
 * One n8n installation driven through its own CLI and HTTP server, with a fresh user folder,
 * on the loopback interface only, with every phone-home feature switched off.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { BackgroundProcess, delay, runChecked, runCommand, tail, type CommandResult } from './proc';
import type { N8nInstall, NodeRuntime } from './runtime';
import { runtimeEnv } from './runtime';

export const MANUAL_TIMEOUT_MS = 180_000;

/** Settings that keep n8n from reaching the internet, whatever its version. */
const OFFLINE_SETTINGS: NodeJS.ProcessEnv = {
	N8N_DIAGNOSTICS_ENABLED: 'false',
	N8N_DIAGNOSTICS_CONFIG_FRONTEND: '',
	N8N_DIAGNOSTICS_CONFIG_BACKEND: '',
	N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
	N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
	N8N_TEMPLATES_ENABLED: 'false',
	N8N_PERSONALIZATION_ENABLED: 'false',
	N8N_HIRING_BANNER_ENABLED: 'false',
	N8N_DYNAMIC_BANNERS_ENABLED: 'false',
	N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
	N8N_VERIFIED_PACKAGES_ENABLED: 'false',
	N8N_REINSTALL_MISSING_PACKAGES: 'false',
	N8N_AI_ENABLED: 'false',
	N8N_PUBLIC_API_DISABLED: 'true',
	N8N_FRONTEND_SENTRY_DSN: '',
	N8N_SENTRY_DSN: '',
	EXTERNAL_FRONTEND_HOOKS_URLS: '',
};

export interface N8nRun {
	result: CommandResult;
	/** The JSON document `n8n execute --rawOutput` printed after its log lines, if any. */
	output: unknown;
}

/** Loopback ports of one instance: the editor/API/webhooks, and the task runners' broker (Code node). */
export interface N8nPorts {
	main: number;
	runnerBroker: number;
}

/** What instances sharing one database and queue (queue mode) have in common. */
export interface SharedSettings {
	/** Every process that reads the same credentials needs the same key. */
	encryptionKey: string;
	/** Applied last: database, queue and process-specific settings. */
	env: NodeJS.ProcessEnv;
}

export class N8nInstance {
	readonly encryptionKey: string;
	private server: BackgroundProcess | undefined;

	constructor(
		readonly install: N8nInstall,
		readonly runtime: NodeRuntime,
		readonly userFolder: string,
		private readonly ports: N8nPorts,
		private readonly logFile: string,
		private readonly shared?: SharedSettings,
	) {
		this.encryptionKey = shared?.encryptionKey ?? randomBytes(24).toString('hex');
	}

	get port(): number {
		return this.ports.main;
	}

	get majorVersion(): number {
		return Number.parseInt(this.install.version.split('.')[0] ?? '0', 10);
	}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get nodesDir(): string {
		return join(this.userFolder, '.n8n', 'nodes');
	}

	/** n8n 2.x modules that call api.n8n.io on their own (1.x does not know these module names). */
	private disabledModules(): NodeJS.ProcessEnv {
		return this.majorVersion >= 2 ? { N8N_DISABLED_MODULES: 'mcp-registry' } : {};
	}

	env(): NodeJS.ProcessEnv {
		return runtimeEnv(this.runtime, {
			...OFFLINE_SETTINGS,
			...this.disabledModules(),
			N8N_USER_FOLDER: this.userFolder,
			N8N_ENCRYPTION_KEY: this.encryptionKey,
			DB_TYPE: 'sqlite',
			N8N_HOST: '127.0.0.1',
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_PORT: String(this.port),
			N8N_PROTOCOL: 'http',
			WEBHOOK_URL: `${this.baseUrl}/`,
			N8N_EDITOR_BASE_URL: `${this.baseUrl}/`,
			N8N_SECURE_COOKIE: 'false',
			N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
			N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
			N8N_LOG_LEVEL: 'info',
			N8N_LOG_OUTPUT: 'console',
			N8N_RUNNERS_ENABLED: 'true',
			N8N_RUNNERS_MODE: 'internal',
			N8N_RUNNERS_BROKER_PORT: String(this.ports.runnerBroker),
			N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
			N8N_BLOCK_ENV_ACCESS_IN_NODE: 'true',
			N8N_GIT_NODE_DISABLE_BARE_REPOS: 'true',
			TZ: 'UTC',
			GENERIC_TIMEZONE: 'UTC',
			...this.shared?.env,
		});
	}

	cli(args: string[]): Promise<CommandResult> {
		return runCommand(this.runtime.nodeBinary, [this.install.cliPath, ...args], {
			cwd: this.userFolder,
			env: this.env(),
			logFile: this.logFile,
			timeoutMs: MANUAL_TIMEOUT_MS,
		});
	}

	async cliChecked(args: string[]): Promise<CommandResult> {
		return runChecked(this.runtime.nodeBinary, [this.install.cliPath, ...args], {
			cwd: this.userFolder,
			env: this.env(),
			logFile: this.logFile,
			timeoutMs: MANUAL_TIMEOUT_MS,
		});
	}

	/** Writes `documents` to a JSON file and imports it with `n8n import:<kind>`. */
	async importJson(
		kind: 'credentials' | 'workflow',
		fileName: string,
		documents: unknown[],
	): Promise<void> {
		const file = join(this.userFolder, fileName);
		writeFileSync(file, `${JSON.stringify(documents, null, 2)}\n`);
		await this.cliChecked([`import:${kind}`, `--input=${file}`]);
	}

	async execute(workflowId: string): Promise<N8nRun> {
		const result = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput']);
		return { result, output: extractJsonDocument(result.stdout) };
	}

	/** Makes the workflow's triggers (webhooks) live the next time the server starts. */
	async activateWorkflow(workflowId: string): Promise<void> {
		if (this.majorVersion >= 2) await this.cliChecked(['publish:workflow', `--id=${workflowId}`]);
		else await this.cliChecked(['update:workflow', `--id=${workflowId}`, '--active=true']);
	}

	async startServer(): Promise<void> {
		this.launch(['start']);
		await this.waitUntilReady(MANUAL_TIMEOUT_MS, () => this.isReady());
	}

	/**
	 * `n8n worker` (queue mode): ready when its health server, on `healthPort`, reports the
	 * database and Redis connected.
	 */
	async startWorker(concurrency: number, healthPort: number): Promise<void> {
		this.launch(['worker', `--concurrency=${concurrency}`]);
		const readiness = `http://127.0.0.1:${healthPort}/healthz/readiness`;
		await this.waitUntilReady(MANUAL_TIMEOUT_MS, () => answersOk(readiness));
	}

	private launch(args: string[]): void {
		this.server = BackgroundProcess.start(
			`n8n ${this.install.version} ${args[0]}`,
			this.runtime.nodeBinary,
			[this.install.cliPath, ...args],
			{
				cwd: this.userFolder,
				env: this.env(),
				logFile: this.logFile,
			},
		);
	}

	private async waitUntilReady(timeoutMs: number, isReady: () => Promise<boolean>): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			if (this.server?.hasExited)
				throw new Error(`n8n exited while starting:\n${tail(this.server.allOutput, 3000)}`);
			if (await isReady()) return;
			await delay(1000);
		}
		throw new Error(
			`n8n did not become ready within ${timeoutMs} ms:\n${tail(this.server?.allOutput ?? '', 3000)}`,
		);
	}

	/**
	 * Ready when the REST API answers with its settings: `/healthz` alone comes up before n8n 1.x
	 * registers its routes, and while starting n8n 2.x answers 200 "n8n is starting up" to any path.
	 */
	private async isReady(): Promise<boolean> {
		try {
			const response = await fetch(`${this.baseUrl}/rest/settings`);
			return response.ok && !(await response.text()).includes('n8n is starting up');
		} catch {
			return false;
		}
	}

	get serverOutput(): string {
		return this.server?.allOutput ?? '';
	}

	get serverPid(): number | undefined {
		return this.server?.pid;
	}

	/** SIGKILL to the server's process group: a crash, with no chance to clean up. */
	async killServer(): Promise<void> {
		await this.server?.kill();
	}

	async stopServer(): Promise<void> {
		await this.server?.stop(15_000);
		this.server = undefined;
	}
}

async function answersOk(url: string): Promise<boolean> {
	try {
		const response = await fetch(url);
		return response.ok;
	} catch {
		return false;
	}
}

/**
 * `n8n execute --rawOutput` prints log lines, then `JSON.stringify(run, null, 2)`: a document that
 * opens with a line holding only `{` and closes with a line holding only `}`.
 */
export function extractJsonDocument(stdout: string): unknown {
	const lines = stdout.split('\n');
	const start = lines.findIndex((line) => line.trimEnd() === '{');
	if (start < 0) return undefined;
	const end = lines.findIndex((line, index) => index > start && line.trimEnd() === '}');
	if (end < 0) return undefined;
	try {
		return JSON.parse(lines.slice(start, end + 1).join('\n'));
	} catch {
		return undefined;
	}
}
