/**
 * npm run demo: example workflows through n8n's real engine (n8n-core's WorkflowExecute)
 * against the bundled Twin24 simulator. Nothing to configure; nothing leaves this machine.
 */
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INodeExecutionData,
	INodeParameters,
} from 'n8n-workflow';

import { CredentialStore, runTwin24 } from '../test/harness/engine';
import {
	DEMO_ACCESS_TOKEN,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	Twin24Simulator,
} from '../test/simulator/simulator';

const CALLS = [
	'6f1c2a9e-2b7d-4c1a-9f3e-8d5b7a2c1e01',
	'6f1c2a9e-2b7d-4c1a-9f3e-8d5b7a2c1e02',
	'6f1c2a9e-2b7d-4c1a-9f3e-8d5b7a2c1e03',
];
const CANDIDATES = ['candidate-7731', 'candidate-7732'];
const BULK_SIZE = 1000;

function describeItem(item: INodeExecutionData, index: number): string {
	const { json } = item;
	const id = json.callId ?? json.autoCallCandidateId;
	const mark = json.success === true ? 'done  ' : json.dryRun === true ? 'dry   ' : 'FAILED';
	const details = Object.entries(json)
		.filter(([key]) => !['success', 'callId', 'autoCallCandidateId'].includes(key))
		.map(
			([key, value]) =>
				`${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
		)
		.join('  ');
	return `    item ${index}  ${mark}  ${String(id)}  ${details}`;
}

async function example(
	title: string,
	ids: unknown[],
	parameters: INodeParameters,
	credentials: ICredentialDataDecryptedObject,
	settings: { continueOnFail?: boolean; store?: CredentialStore } = {},
): Promise<INodeExecutionData[]> {
	console.log(`\n${title}`);
	const result = await runTwin24({
		items: ids.map((id) => ({ id }) as IDataObject),
		parameters,
		credentials,
		...settings,
	});
	if (result.error) {
		console.log(`    node error: ${result.error.message}`);
		if (result.error.description) console.log(`    ${result.error.description}`);
	}
	(result.output ?? []).forEach((item, index) => console.log(describeItem(item, index)));
	return result.output ?? [];
}

function erasedState(simulator: Twin24Simulator): void {
	console.log('\nWhat the simulator erased:');
	for (const id of CALLS) {
		const call = simulator.getCall(id);
		console.log(
			`    call ${id}: ${call?.depersonalized ? 'depersonalized' : 'personal data kept'}, ${call?.hasRecord ? 'recording kept' : 'recording deleted'}`,
		);
	}
	for (const id of CANDIDATES) {
		console.log(
			`    auto call candidate ${id}: ${simulator.getCandidate(id)?.depersonalized ? 'depersonalized' : 'personal data kept'}`,
		);
	}
	console.log(
		`    erasure requests that succeeded: ${simulator.erasures().length}; requests for an ID already erased: ${simulator.duplicateErasures()} (the deliberate re-run in 6)`,
	);
}

async function bulkExample(
	simulator: Twin24Simulator,
	credentials: ICredentialDataDecryptedObject,
): Promise<void> {
	const ids = Array.from(
		{ length: BULK_SIZE },
		(_, index) => `retention-${String(index).padStart(4, '0')}`,
	);
	simulator.addCalls(ids);
	simulator.clearLog();
	simulator.configure({
		rateLimit: { requestsPerSecond: 300, retryAfter: 'seconds' },
		faults: { rate: 0.05, kinds: [503, 'reset'] },
		latencyMs: { min: 5, max: 15 },
	});
	const store = new CredentialStore();
	const loginsBefore = simulator.logins.ok;
	const expireHalfway = setInterval(() => {
		if (simulator.erasures().length < BULK_SIZE / 2) return;
		simulator.expireAllTokens();
		clearInterval(expireHalfway);
	}, 5);
	console.log(
		`\n7. Retention schedule: ${BULK_SIZE} calls, API limited to 300 req/s, 5% random 503s and dropped connections, the token expiring halfway`,
	);
	const startedAt = performance.now();
	const result = await runTwin24({
		items: ids.map((id) => ({ id })),
		parameters: { resource: 'call', operation: 'depersonalize', callId: '={{ $json.id }}' },
		credentials,
		store,
	});
	clearInterval(expireHalfway);
	const seconds = (performance.now() - startedAt) / 1000;
	const output = result.output ?? [];
	const done = output.filter((item) => item.json.success === true).length;
	const stats = simulator.stats;
	console.log(
		`    ${done} of ${BULK_SIZE} items done in ${seconds.toFixed(1)} s, in input order: ${output.every((item, index) => item.json.callId === ids[index])}`,
	);
	console.log(
		`    simulator saw ${stats.requests} requests: ${stats.rateLimited} answered 429, ${stats.faultsInjected} faults injected, ${simulator.logins.ok - loginsBefore} logins`,
	);
	console.log(
		`    erased exactly once: ${simulator.erasures().length === BULK_SIZE && simulator.duplicateErasures() === 0}`,
	);
	simulator.configure({ rateLimit: null, faults: null, latencyMs: 0 });
}

async function main(): Promise<void> {
	const simulator = await Twin24Simulator.start();
	simulator.addUser(DEMO_EMAIL, DEMO_PASSWORD);
	simulator.addAccessToken(DEMO_ACCESS_TOKEN);
	simulator.addCalls(CALLS, { hasRecord: true });
	simulator.addCandidates(CANDIDATES);
	const withToken = {
		authMode: 'accessToken',
		accessToken: DEMO_ACCESS_TOKEN,
		cisBaseUrl: simulator.cisBaseUrl,
	};
	const withLogin = {
		authMode: 'emailPassword',
		email: DEMO_EMAIL,
		password: DEMO_PASSWORD,
		cisBaseUrl: `${simulator.cisBaseUrl}/`,
		iamBaseUrl: simulator.iamBaseUrl,
	};
	console.log(
		`Twin24 node demo: n8n's WorkflowExecute against the Twin24 simulator at ${simulator.origin}`,
	);
	try {
		await example(
			'1. A CRM asks for erasure: Call → Depersonalize (access token), recording deleted too',
			[CALLS[0]],
			{ resource: 'call', operation: 'depersonalize', callId: '={{ $json.id }}' },
			withToken,
		);
		await example(
			'2. Call → Depersonalize with Keep Recording on',
			[CALLS[1]],
			{
				resource: 'call',
				operation: 'depersonalize',
				callId: '={{ $json.id }}',
				skipDeleteRecord: true,
			},
			withToken,
		);
		await example(
			'3. Call → Delete Recording: only the audio goes',
			[CALLS[2]],
			{ resource: 'call', operation: 'deleteRecord', callId: '={{ $json.id }}' },
			withToken,
		);
		const store = new CredentialStore();
		await example(
			'4. Auto Call Candidate → Depersonalize (email + password: n8n logs in once)',
			CANDIDATES,
			{
				resource: 'autoCallCandidate',
				operation: 'depersonalize',
				autoCallCandidateId: '={{ $json.id }}',
			},
			withLogin,
			{ store },
		);
		console.log(
			`    logins so far: ${simulator.logins.ok}; the token is kept in the credential for the next run`,
		);
		const requestsBefore = simulator.requests.length;
		await example(
			'5. Dry Run: the exact request, nothing sent',
			['8d0e4b1c-0000-4000-8000-000000000001'],
			{
				resource: 'call',
				operation: 'depersonalize',
				callId: '={{ $json.id }}',
				options: { dryRun: true },
			},
			withToken,
		);
		console.log(`    requests sent by the dry run: ${simulator.requests.length - requestsBefore}`);
		await example(
			'6. A re-run with Ignore Not Found and Continue On Fail: an erased call, an unknown one, a malformed ID',
			[CALLS[0], 'b2d9e7f0-1111-4222-8333-444455556666', '../calls/other'],
			{
				resource: 'call',
				operation: 'depersonalize',
				callId: '={{ $json.id }}',
				options: { ignoreNotFound: true },
			},
			withToken,
			{ continueOnFail: true },
		);
		erasedState(simulator);
		await bulkExample(simulator, withLogin);
	} finally {
		await simulator.stop();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
