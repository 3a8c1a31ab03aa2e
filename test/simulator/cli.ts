/**
 * Runs a Twin24 simulator in its own process, seeded with the demo identity and sample data.
 *
 *   node .dev/test/simulator/cli.js [--port N] [--accept-any-id] [--latency-ms N]
 *
 * Prints one JSON line when listening, serves the `/__simulator/...` control endpoints
 * (`/__simulator/reset` seeds the demo data again), and stops cleanly on SIGTERM / SIGINT.
 */
import {
	DEMO_ACCESS_TOKEN,
	DEMO_CALL_IDS,
	DEMO_CANDIDATE_IDS,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
	CONTROL_BASE_PATH,
	seedDemoData,
	Twin24Simulator,
} from './simulator';

interface CliArguments {
	port: number;
	acceptAnyId: boolean;
	latencyMs: number;
}

const USAGE = 'usage: cli.js [--port N] [--accept-any-id] [--latency-ms N]';

function readNumberFlag(name: string, value: string | undefined): number {
	const number = Number(value);
	if (value === undefined || value === '' || !Number.isFinite(number) || number < 0) {
		throw new Error(`${name} needs a non-negative number\n${USAGE}`);
	}
	return number;
}

function parseArguments(argv: readonly string[]): CliArguments {
	const parsed: CliArguments = { port: 0, acceptAnyId: false, latencyMs: 0 };
	for (let index = 0; index < argv.length; index += 1) {
		const [flag, inlineValue] = argv[index].split(/=(.*)/s, 2);
		const takeValue = (): string | undefined => inlineValue ?? argv[++index];
		if (flag === '--port') parsed.port = readNumberFlag(flag, takeValue());
		else if (flag === '--latency-ms') parsed.latencyMs = readNumberFlag(flag, takeValue());
		else if (flag === '--accept-any-id') parsed.acceptAnyId = true;
		else throw new Error(`unknown argument ${flag}\n${USAGE}`);
	}
	return parsed;
}

function announce(sim: Twin24Simulator): void {
	const ready = {
		origin: sim.origin,
		cisBaseUrl: sim.cisBaseUrl,
		iamBaseUrl: sim.iamBaseUrl,
		email: DEMO_EMAIL,
		password: DEMO_PASSWORD,
		accessToken: DEMO_ACCESS_TOKEN,
		readOnlyAccessToken: DEMO_READONLY_ACCESS_TOKEN,
		controlUrl: sim.origin + CONTROL_BASE_PATH,
		callIds: DEMO_CALL_IDS,
		candidateIds: DEMO_CANDIDATE_IDS,
	};
	process.stdout.write(`${JSON.stringify(ready)}\n`);
}

function stopOnSignals(sim: Twin24Simulator): void {
	const shutdown = (): void => {
		sim.stop().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.once('SIGTERM', shutdown);
	process.once('SIGINT', shutdown);
}

async function main(): Promise<void> {
	const options = parseArguments(process.argv.slice(2));
	const sim = await Twin24Simulator.start({
		port: options.port,
		acceptAnyId: options.acceptAnyId,
		latencyMs: options.latencyMs,
		controlApi: true,
		onReset: seedDemoData,
	});
	seedDemoData(sim);
	stopOnSignals(sim);
	announce(sim);
}

main().catch((error: unknown) => {
	process.stderr.write(
		`twin24 simulator: ${error instanceof Error ? error.message : String(error)}\n`,
	);
	process.exit(1);
});
