/**
 * Redis and Postgres for the queue-mode pass: Debian's packages, installed with apt-get when
 * missing, each server started from its own binary in a temporary folder on a free loopback
 * port, and stopped by its process id. Nothing is registered with the system's service manager.
 */
import { execFileSync } from 'node:child_process';
import {
	chmodSync,
	chownSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { cleanEnv } from './config';
import { BackgroundProcess, runChecked, type CommandResult } from './proc';
import { step } from './report';
import { freePort } from './simulator';

const POSTGRES_ROOT = '/usr/lib/postgresql';
const REDIS_SERVER = '/usr/bin/redis-server';
const START_TIMEOUT_MS = 60_000;
export const DATABASE_NAME = 'n8n';
export const DATABASE_USER = 'postgres';

/** The newest Postgres installed by Debian's packages (`/usr/lib/postgresql/<major>/bin`). */
function postgresBinDir(): string | undefined {
	if (!existsSync(POSTGRES_ROOT)) return undefined;
	const majors = readdirSync(POSTGRES_ROOT)
		.filter((name) => existsSync(join(POSTGRES_ROOT, name, 'bin', 'postgres')))
		.sort((a, b) => Number(b) - Number(a));
	return majors.length > 0 ? join(POSTGRES_ROOT, majors[0], 'bin') : undefined;
}

/** `apt-get update` once, then `apt-get install -y` of what is missing (the e2e runs as root). */
export async function ensureDebianServices(logFile: string): Promise<void> {
	const missing = [
		...(existsSync(REDIS_SERVER) ? [] : ['redis-server']),
		...(postgresBinDir() === undefined ? ['postgresql'] : []),
	];
	if (missing.length === 0) return;
	step(`queue mode: apt-get install -y ${missing.join(' ')}`);
	const env = { ...cleanEnv(), DEBIAN_FRONTEND: 'noninteractive' };
	await runChecked('apt-get', ['update'], { env, logFile, timeoutMs: 10 * 60_000 });
	await runChecked('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
		env,
		logFile,
		timeoutMs: 20 * 60_000,
	});
}

function systemUser(name: string): { uid: number; gid: number } {
	const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
	const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
	return { uid, gid };
}

/** initdb, then the server, both as the `postgres` user (Postgres refuses to run as root). */
async function launchPostgres(
	binDir: string,
	dir: string,
	port: number,
	logFile: string,
): Promise<BackgroundProcess> {
	const user = systemUser(DATABASE_USER);
	const dataDir = join(dir, 'data');
	mkdirSync(dataDir, { recursive: true });
	chownSync(dir, user.uid, user.gid);
	chownSync(dataDir, user.uid, user.gid);
	chmodSync(dataDir, 0o700);
	const env = { ...cleanEnv(), LC_ALL: 'C.UTF-8' };
	await runChecked(
		join(binDir, 'initdb'),
		['-D', dataDir, '-U', DATABASE_USER, '--auth=trust', '-E', 'UTF8', '--no-sync'],
		{ cwd: dir, env, logFile, user, timeoutMs: START_TIMEOUT_MS },
	);
	const server = BackgroundProcess.start(
		'postgres',
		join(binDir, 'postgres'),
		[
			...['-D', dataDir, '-p', String(port)],
			...['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`],
			// A throw-away database: durability buys nothing here.
			...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
		],
		{ cwd: dir, env, logFile, user },
	);
	try {
		await server.waitForLine(
			(line) => line.includes('database system is ready to accept connections'),
			START_TIMEOUT_MS,
		);
	} catch (error) {
		await server.stop(15_000);
		throw error;
	}
	return server;
}

/**
 * Postgres in a temporary folder of its own (the `postgres` user must be able to reach it, which
 * it cannot inside the run folder), trusting loopback connections; `stop()` removes the folder.
 */
export class PostgresServer {
	private constructor(
		readonly port: number,
		private readonly binDir: string,
		private readonly dir: string,
		private readonly process: BackgroundProcess,
		private readonly logFile: string,
	) {}

	static async start(logFile: string): Promise<PostgresServer> {
		const binDir = postgresBinDir();
		if (binDir === undefined) throw new Error(`no Postgres under ${POSTGRES_ROOT}`);
		const dir = mkdtempSync(join(tmpdir(), 'twin24-e2e-postgres-'));
		let server: BackgroundProcess | undefined;
		try {
			const port = await freePort();
			server = await launchPostgres(binDir, dir, port, logFile);
			const postgres = new PostgresServer(port, binDir, dir, server, logFile);
			await postgres.sql('postgres', `CREATE DATABASE ${DATABASE_NAME}`);
			return postgres;
		} catch (error) {
			await server?.stop(15_000);
			rmSync(dir, { recursive: true, force: true });
			throw error;
		}
	}

	get pid(): number | undefined {
		return this.process.pid;
	}

	/** Runs SQL with psql and returns its unaligned, tuples-only output (`|`-separated columns). */
	async sql(database: string, statement: string): Promise<CommandResult> {
		return runChecked(
			join(this.binDir, 'psql'),
			[
				...['-h', '127.0.0.1', '-p', String(this.port), '-U', DATABASE_USER, '-d', database],
				...['-v', 'ON_ERROR_STOP=1', '-X', '-A', '-t', '-c', statement],
			],
			{ env: cleanEnv(), logFile: this.logFile, timeoutMs: 30_000 },
		);
	}

	/** Rows of a query on n8n's database, each as its columns. */
	async rows(statement: string): Promise<string[][]> {
		const { stdout } = await this.sql(DATABASE_NAME, statement);
		return stdout
			.split('\n')
			.filter((line) => line.length > 0)
			.map((line) => line.split('|'));
	}

	async stop(): Promise<void> {
		await this.process.stop(15_000);
		rmSync(this.dir, { recursive: true, force: true });
	}
}

/** redis-server on a free loopback port, in memory only. */
export class RedisServer {
	private constructor(
		readonly port: number,
		private readonly process: BackgroundProcess,
	) {}

	static async start(dir: string, logFile: string): Promise<RedisServer> {
		const port = await freePort();
		const server = BackgroundProcess.start(
			'redis-server',
			REDIS_SERVER,
			[
				...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
				...['--save', '', '--appendonly', 'no', '--daemonize', 'no'],
			],
			{ cwd: dir, env: cleanEnv(), logFile },
		);
		await server.waitForLine(
			(line) => line.includes('Ready to accept connections'),
			START_TIMEOUT_MS,
		);
		return new RedisServer(port, server);
	}

	get pid(): number | undefined {
		return this.process.pid;
	}

	async stop(): Promise<void> {
		await this.process.stop(10_000);
	}
}
