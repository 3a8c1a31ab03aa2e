/** Users, static access tokens and the JWTs login issues. */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

import type { AccessTokenOptions, PublicUser } from './types';

const STATIC_TOKEN_EMAIL = 'api-token@twin24-simulator.test';

interface UserRecord extends PublicUser {
	password: string;
}

interface TokenRecord {
	serial: number;
	owner: PublicUser;
	canErase: boolean;
	expiresAtMs: number;
}

type TokenCheck =
	{ kind: 'valid'; token: TokenRecord } | { kind: 'missing' | 'unknown' | 'expired' };

/** Users, static tokens and JWTs issued by login. */
export class IdentityStore {
	private readonly users = new Map<string, UserRecord>();
	private readonly tokens = new Map<string, TokenRecord>();
	private readonly signingKey = randomBytes(32);
	private nextSerial = 1;
	private expiredThroughSerial = 0;
	private staticOwners = 0;

	/** Adding an existing email again changes its password and keeps its id. */
	addUser(email: string, password: string): PublicUser {
		const id = this.users.get(email)?.id ?? `user-${this.users.size + 1}`;
		const user = { id, email, password };
		this.users.set(email, user);
		return { id: user.id, email };
	}

	addStaticToken(token: string, options: AccessTokenOptions): void {
		const owner = this.ownerFor(options.email);
		this.tokens.set(
			token,
			this.newRecord(owner, options.canErase ?? true, Number.POSITIVE_INFINITY),
		);
	}

	/** Returns the issued tokens, or undefined when the email or password is wrong. */
	login(
		email: string,
		password: string,
		ttlSeconds: number,
	): { token: string; refreshToken: string } | undefined {
		const user = this.users.get(email);
		if (user === undefined || user.password !== password) return undefined;
		const owner = { id: user.id, email: user.email };
		const issuedAtMs = Date.now();
		const record = this.newRecord(owner, true, issuedAtMs + ttlSeconds * 1000);
		const token = this.signJwt(owner, issuedAtMs, record.expiresAtMs);
		this.tokens.set(token, record);
		return { token, refreshToken: randomBytes(32).toString('base64url') };
	}

	check(authorization: string | undefined): TokenCheck {
		const bearer = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
		if (bearer === null) return { kind: 'missing' };
		const token = this.tokens.get(bearer[1]);
		if (token === undefined) return { kind: 'unknown' };
		if (token.serial <= this.expiredThroughSerial || Date.now() >= token.expiresAtMs)
			return { kind: 'expired' };
		return { kind: 'valid', token };
	}

	expireAll(): void {
		this.expiredThroughSerial = this.nextSerial - 1;
	}

	private newRecord(owner: PublicUser, canErase: boolean, expiresAtMs: number): TokenRecord {
		return { serial: this.nextSerial++, owner, canErase, expiresAtMs };
	}

	private ownerFor(email: string | undefined): PublicUser {
		const user = email === undefined ? undefined : this.users.get(email);
		if (user !== undefined) return { id: user.id, email: user.email };
		this.staticOwners += 1;
		return { id: `token-owner-${this.staticOwners}`, email: email ?? STATIC_TOKEN_EMAIL };
	}

	private signJwt(owner: PublicUser, issuedAtMs: number, expiresAtMs: number): string {
		const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
		const claims = {
			sub: owner.id,
			email: owner.email,
			iat: Math.floor(issuedAtMs / 1000),
			exp: Math.floor(expiresAtMs / 1000),
			jti: randomUUID(),
		};
		const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
		const signature = createHmac('sha256', this.signingKey)
			.update(`${header}.${payload}`)
			.digest('base64url');
		return `${header}.${payload}.${signature}`;
	}
}
