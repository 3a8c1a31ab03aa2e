/** Hostile base URLs (issue 4): where the one erasure request lands, or the unusable credential. */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { Twin24Simulator } from '../simulator/simulator';
import { CIS_BASE_PATH, IAM_BASE_PATH } from '../simulator/simulator';
import { DEMO_ACCESS_TOKEN, DEMO_EMAIL, DEMO_PASSWORD } from '../support';

export interface BaseUrlCase {
	name: string;
	mode: 'token' | 'login';
	/** Credential fields to override, built from the running simulator. */
	urls: (sim: Twin24Simulator) => ICredentialDataDecryptedObject;
	/** Where the one erasure request must land, or the unusable credential: nothing is sent. */
	expect:
		| { path: string; status: number }
		| { unusable: 'CIS Base URL' | 'IAM Base URL'; reason: RegExp };
}

export const ERASURE_ID = 'call-1';
const ERASURE_PATH = `${CIS_BASE_PATH}/calls/${ERASURE_ID}/depersonalization`;
const landsAt = (path: string, status = 200) => ({ path, status });
const cisUnusable = (reason: RegExp) => ({ unusable: 'CIS Base URL' as const, reason });
const iamUnusable = (reason: RegExp) => ({ unusable: 'IAM Base URL' as const, reason });
const cis = (url: (sim: Twin24Simulator) => string) => (sim: Twin24Simulator) => ({
	cisBaseUrl: url(sim),
});
const iam = (url: (sim: Twin24Simulator) => string) => (sim: Twin24Simulator) => ({
	iamBaseUrl: url(sim),
});

const QUERY_OR_FRAGMENT = /query string or fragment/;
const USER_INFO = /user name or password/;
const PLAIN_HTTP = /plain http:\/\//;
const NOT_A_URL = /not a valid URL/;
const OTHER_SCHEME = /instead of https/;

export const BASE_URL_CASES: readonly BaseUrlCase[] = [
	{
		name: 'as given',
		mode: 'token',
		urls: cis((s) => s.cisBaseUrl),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'one trailing slash',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}/`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'three trailing slashes',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}///`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'surrounding spaces',
		mode: 'token',
		urls: cis((s) => `  ${s.cisBaseUrl}  `),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'upper-case scheme',
		mode: 'token',
		urls: cis((s) => s.cisBaseUrl.replace('http:', 'HTTP:')),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'loopback written in hex is still loopback',
		mode: 'token',
		urls: cis((s) => `http://0x7f000001:${s.port}${CIS_BASE_PATH}`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'localhost over plain http',
		mode: 'token',
		urls: cis((s) => `http://localhost:${s.port}${CIS_BASE_PATH}`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'another path is kept as it is',
		mode: 'token',
		urls: cis((s) => `${s.origin}/proxy/twin24${CIS_BASE_PATH}/`),
		expect: landsAt(`/proxy/twin24${ERASURE_PATH}`, 404),
	},
	{
		name: 'origin without a path',
		mode: 'token',
		urls: cis((s) => `${s.origin}/`),
		expect: landsAt(`/calls/${ERASURE_ID}/depersonalization`, 404),
	},
	{
		name: 'query string',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}?tenant=1`),
		expect: cisUnusable(QUERY_OR_FRAGMENT),
	},
	{
		name: 'query string carrying the token',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}?access_token=${DEMO_ACCESS_TOKEN}`),
		expect: cisUnusable(QUERY_OR_FRAGMENT),
	},
	{
		name: 'fragment',
		mode: 'token',
		urls: cis((s) => `${s.cisBaseUrl}#v1`),
		expect: cisUnusable(QUERY_OR_FRAGMENT),
	},
	{
		name: 'user:password@ (the demo password)',
		mode: 'token',
		urls: cis((s) => `http://demo:${DEMO_PASSWORD}@127.0.0.1:${s.port}${CIS_BASE_PATH}`),
		expect: cisUnusable(USER_INFO),
	},
	{
		name: 'user name only',
		mode: 'token',
		urls: cis((s) => `http://demo@127.0.0.1:${s.port}${CIS_BASE_PATH}`),
		expect: cisUnusable(USER_INFO),
	},
	{
		name: 'plain http to a remote host',
		mode: 'token',
		urls: cis(() => 'http://twin24.ai/cis/api/v1'),
		expect: cisUnusable(PLAIN_HTTP),
	},
	{
		name: 'plain http to a host that starts like loopback',
		mode: 'token',
		urls: cis(() => 'http://127.0.0.1.nip.io/cis/api/v1'),
		expect: cisUnusable(PLAIN_HTTP),
	},
	{
		name: 'plain http to localhost.<domain>',
		mode: 'token',
		urls: cis(() => 'http://localhost.attacker.test/cis/api/v1'),
		expect: cisUnusable(PLAIN_HTTP),
	},
	{
		name: 'ftp scheme',
		mode: 'token',
		urls: cis((s) => `ftp://127.0.0.1:${s.port}/cis`),
		expect: cisUnusable(OTHER_SCHEME),
	},
	{
		name: 'file scheme',
		mode: 'token',
		urls: cis(() => 'file:///etc/passwd'),
		expect: cisUnusable(OTHER_SCHEME),
	},
	{
		name: 'javascript scheme',
		mode: 'token',
		urls: cis(() => 'javascript:alert(1)'),
		expect: cisUnusable(OTHER_SCHEME),
	},
	{
		name: 'data scheme',
		mode: 'token',
		urls: cis(() => 'data:text/plain,hello'),
		expect: cisUnusable(OTHER_SCHEME),
	},
	{
		name: 'no scheme',
		mode: 'token',
		urls: cis(() => 'twin24.ai/cis/api/v1'),
		expect: cisUnusable(NOT_A_URL),
	},
	{
		name: 'scheme-relative',
		mode: 'token',
		urls: cis(() => '//twin24.ai/cis/api/v1'),
		expect: cisUnusable(NOT_A_URL),
	},
	{
		name: 'not a URL at all',
		mode: 'token',
		urls: cis(() => 'not a url'),
		expect: cisUnusable(NOT_A_URL),
	},
	{ name: 'empty', mode: 'token', urls: cis(() => ''), expect: cisUnusable(/empty/) },
	{ name: 'blank', mode: 'token', urls: cis(() => '   '), expect: cisUnusable(/empty/) },
	{
		name: 'login: IAM with trailing slashes',
		mode: 'login',
		urls: iam((s) => `${s.iamBaseUrl}//`),
		expect: landsAt(ERASURE_PATH),
	},
	{
		name: 'login: IAM with a query string',
		mode: 'login',
		urls: iam((s) => `${s.iamBaseUrl}?x=1`),
		expect: iamUnusable(QUERY_OR_FRAGMENT),
	},
	{
		name: 'login: IAM over plain http to a remote host',
		mode: 'login',
		urls: iam(() => 'http://iam.twin24.ai/api/v1'),
		expect: iamUnusable(PLAIN_HTTP),
	},
	{
		name: 'login: IAM with user:password@',
		mode: 'login',
		urls: iam(
			(s) =>
				`http://${encodeURIComponent(DEMO_EMAIL)}:${DEMO_PASSWORD}@127.0.0.1:${s.port}${IAM_BASE_PATH}`,
		),
		expect: iamUnusable(USER_INFO),
	},
	{ name: 'login: IAM empty', mode: 'login', urls: iam(() => ''), expect: iamUnusable(/empty/) },
	{
		name: 'login: IAM not a URL',
		mode: 'login',
		urls: iam(() => 'iam twin24'),
		expect: iamUnusable(NOT_A_URL),
	},
	{
		name: 'login: a bad CIS URL makes the credential unusable before logging in',
		mode: 'login',
		urls: cis((s) => `${s.cisBaseUrl}#x`),
		expect: cisUnusable(QUERY_OR_FRAGMENT),
	},
];
