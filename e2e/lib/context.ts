/** What one e2e run has prepared before any n8n starts, shared by every pass. */
import type { PackedProject } from './communityPackage';
import type { E2eConfig } from './config';
import type { Checks } from './report';
import type { NodeRuntime } from './runtime';

export interface RunContext {
	config: E2eConfig;
	checks: Checks;
	runDir: string;
	logDir: string;
	runtime: NodeRuntime;
	packed: PackedProject;
}
