/** Progress lines and the pass/fail ledger that decides the exit code. */

const startedAt = Date.now();

function elapsed(): string {
	const seconds = Math.round((Date.now() - startedAt) / 1000);
	return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

export function step(message: string): void {
	console.log(`[e2e ${elapsed()}] ${message}`);
}

export interface CheckResult {
	scope: string;
	name: string;
	passed: boolean;
	detail?: string;
}

export class Checks {
	private readonly results: CheckResult[] = [];
	private readonly ran: string[] = [];

	/** Records one check. `detail` explains a failure (what was seen instead). */
	check(scope: string, name: string, passed: boolean, detail?: string): boolean {
		this.results.push({ scope, name, passed, detail });
		const mark = passed ? 'ok  ' : 'FAIL';
		console.log(`  ${mark} [${scope}] ${name}${passed || !detail ? '' : `\n         ${detail}`}`);
		return passed;
	}

	/** Records a step that threw, as a failed check, so the run goes on with the next scenario. */
	fail(scope: string, name: string, error: unknown): void {
		this.check(scope, name, false, error instanceof Error ? error.message : String(error));
	}

	noteRun(what: string): void {
		this.ran.push(what);
	}

	get passedCount(): number {
		return this.results.filter((result) => result.passed).length;
	}

	get failed(): CheckResult[] {
		return this.results.filter((result) => !result.passed);
	}

	get runs(): readonly string[] {
		return this.ran;
	}

	countFor(scope: string): { passed: number; failed: number } {
		const mine = this.results.filter(
			(result) => result.scope === scope || result.scope.startsWith(`${scope} `),
		);
		return {
			passed: mine.filter((r) => r.passed).length,
			failed: mine.filter((r) => !r.passed).length,
		};
	}
}
