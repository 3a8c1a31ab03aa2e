/** Hostile credentials in n8n's "Test" button (issue 4): the error it shows, the logins it makes. */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { Twin24Simulator } from '../simulator/simulator';
import { IAM_BASE_PATH } from '../simulator/simulator';
import { DEMO_EMAIL, DEMO_PASSWORD, loginCredentials } from '../support';
import { login } from './shared';

export interface CredentialTestCase {
	name: string;
	credentials: (sim: Twin24Simulator) => ICredentialDataDecryptedObject;
	arrange?: (sim: Twin24Simulator) => void;
	shows: RegExp;
	logins: number;
}

export const CREDENTIAL_TEST_CASES: readonly CredentialTestCase[] = [
	{
		name: 'wrong password',
		credentials: login(),
		arrange: (sim) => void sim.addUser(DEMO_EMAIL, 'a-different-password'),
		shows: /Invalid email or password/,
		logins: 1,
	},
	{
		name: 'IAM base URL with the password in user info',
		credentials: (sim) =>
			loginCredentials(sim, {
				iamBaseUrl: `http://x:${DEMO_PASSWORD}@127.0.0.1:${sim.port}${IAM_BASE_PATH}`,
			}),
		shows: /user name or password/,
		logins: 0,
	},
	{
		name: 'IAM base URL over plain http to a remote host',
		credentials: login({ iamBaseUrl: 'http://iam.twin24.ai/api/v1' }),
		shows: /plain http/,
		logins: 0,
	},
	{
		name: 'login answers 200 without a token',
		credentials: login(),
		arrange: (sim) => sim.failNext(5, 200, { route: 'login' }),
		shows: /without a token/,
		logins: 1,
	},
];
