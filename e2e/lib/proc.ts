/**
 * Child processes for the e2e run: one-shot commands whose output we keep, and
 * long-running servers (n8n, the simulator) that we start, watch and stop by
 * their own process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface CommandOptions {
	cwd?: string;
	env: NodeJS.ProcessEnv;
	timeoutMs?: number;
	/** Where a copy of stdout+stderr goes (a log file), besides the returned strings. */
	logFile?: string;
	/** Run as this user (uid, gid), e.g. Postgres, which refuses to run as root. */
	user?: { uid: number; gid: number };
}

export interface CommandResult {
	code: number;
	stdout: string;
	stderr: string;
}

export class CommandError extends Error {
	constructor(
		readonly commandLine: string,
		readonly result: CommandResult,
	) {
		super(
			`${commandLine} exited with ${result.code}\n${tail(result.stderr || result.stdout, 3000)}`,
		);
	}
}

export function tail(text: string, maxChars: number): string {
	return text.length <= maxChars ? text : `…${text.slice(text.length - maxChars)}`;
}

function openLog(logFile: string | undefined): WriteStream | undefined {
	return logFile === undefined ? undefined : createWriteStream(logFile, { flags: 'a' });
}

/** Runs a command to its end; never throws for a non-zero exit (see `runChecked`). */
export function runCommand(
	command: string,
	args: string[],
	options: CommandOptions,
): Promise<CommandResult> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, {
			cwd: options.cwd,
			env: options.env,
			stdio: ['ignore', 'pipe', 'pipe'],
			...options.user,
		});
		const log = openLog(options.logFile);
		log?.write(`\n$ ${command} ${args.join(' ')}\n`);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
			log?.write(chunk);
		});
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
			log?.write(chunk);
		});
		const timer =
			options.timeoutMs === undefined
				? undefined
				: setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
		child.on('error', reject);
		child.on('close', (code, signal) => {
			if (timer) clearTimeout(timer);
			log?.end();
			resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
		});
	});
}

/** Runs a command and throws a `CommandError` when it fails. */
export async function runChecked(
	command: string,
	args: string[],
	options: CommandOptions,
): Promise<CommandResult> {
	const result = await runCommand(command, args, options);
	if (result.code !== 0) throw new CommandError(`${command} ${args.join(' ')}`, result);
	return result;
}

/** A server process started in its own process group, so that stopping it also stops its children. */
export class BackgroundProcess {
	private output = '';
	private exitCode: number | null | undefined;
	private readonly listeners = new Set<() => void>();

	private constructor(
		readonly name: string,
		private readonly child: ChildProcess,
		log: WriteStream | undefined,
	) {
		const collect = (chunk: Buffer): void => {
			this.output += chunk.toString();
			log?.write(chunk);
			this.notify();
		};
		child.stdout?.on('data', collect);
		child.stderr?.on('data', collect);
		child.on('exit', (code) => {
			this.exitCode = code;
			log?.end();
			this.notify();
		});
	}

	static start(
		name: string,
		command: string,
		args: string[],
		options: CommandOptions,
	): BackgroundProcess {
		const child = spawn(command, args, {
			cwd: options.cwd,
			env: options.env,
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: true,
			...options.user,
		});
		const log = openLog(options.logFile);
		log?.write(`\n$ ${command} ${args.join(' ')}\n`);
		return new BackgroundProcess(name, child, log);
	}

	get allOutput(): string {
		return this.output;
	}

	get hasExited(): boolean {
		return this.exitCode !== undefined;
	}

	/** The process id, which is also the id of its process group. */
	get pid(): number | undefined {
		return this.child.pid;
	}

	/** Kills the whole process group at once, with no grace period (a crash, as far as it knows). */
	async kill(): Promise<void> {
		const pid = this.child.pid;
		if (pid === undefined || this.hasExited) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		signalGroup(pid, 'SIGKILL');
		await Promise.race([exited, delay(5000)]);
	}

	private notify(): void {
		for (const listener of this.listeners) listener();
	}

	/** Resolves with the first output line that `matches`; rejects on exit or timeout. */
	waitForLine(matches: (line: string) => boolean, timeoutMs: number): Promise<string> {
		return new Promise((resolve, reject) => {
			const finish = (error: Error | undefined, line?: string): void => {
				clearTimeout(timer);
				this.listeners.delete(check);
				if (error) reject(error);
				else resolve(line ?? '');
			};
			const check = (): void => {
				const line = this.output.split('\n').find((candidate) => matches(candidate.trim()));
				if (line !== undefined) finish(undefined, line.trim());
				else if (this.hasExited)
					finish(new Error(`${this.name} exited early:\n${tail(this.output, 3000)}`));
			};
			const timer = setTimeout(
				() =>
					finish(
						new Error(
							`${this.name}: no expected output within ${timeoutMs} ms:\n${tail(this.output, 3000)}`,
						),
					),
				timeoutMs,
			);
			this.listeners.add(check);
			check();
		});
	}

	/** Stops the whole process group: SIGTERM, then SIGKILL if it lingers. */
	async stop(graceMs = 10_000): Promise<void> {
		const pid = this.child.pid;
		if (pid === undefined || this.hasExited) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		signalGroup(pid, 'SIGTERM');
		const timedOut = await Promise.race([
			exited.then(() => false),
			delay(graceMs).then(() => true),
		]);
		if (timedOut) {
			signalGroup(pid, 'SIGKILL');
			await Promise.race([exited, delay(2000)]);
		}
	}
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch {
		// The group is already gone.
	}
}

export function delay(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
