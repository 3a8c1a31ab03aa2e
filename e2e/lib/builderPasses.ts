/**
 * The passes that run the node the way builders use it beyond plain workflows: as an AI agent's
 * tool, and feeding an erasure log. Each can run alone (TWIN24_E2E_ONLY), and each prints how long
 * it took, so that its cost is known.
 */
import { join } from 'node:path';

import {
	AGENT_EXAMPLE,
	agentCredentials,
	agentWorkflows,
	publishAgentWorkflows,
	runAgentPass,
} from './agentPass';
import { passWanted, type E2eConfig, type SinglePass } from './config';
import {
	AlertInbox,
	ERASURE_LOG_EXAMPLE,
	erasureLogWorkflow,
	publishErasureLogWorkflow,
	runErasureLogPass,
} from './erasureLogPass';
import { readExample } from './examples';
import { ModelStandIn } from './modelStandIn';
import { step } from './report';
import type { JsonObject } from './runData';
import type { ScenarioContext } from './scenarios';

export class BuilderPasses {
	private constructor(
		private readonly config: E2eConfig,
		private readonly n8nMajor: number,
		private readonly model: ModelStandIn | undefined,
		private readonly inbox: AlertInbox | undefined,
	) {}

	static async start(config: E2eConfig, n8nMajor: number): Promise<BuilderPasses> {
		const model = passWanted(config, 'agent') ? await ModelStandIn.start() : undefined;
		// n8n 1.x's Data Table node finds a table only from the list or by ID, not by name.
		const logged = passWanted(config, 'erasure-log') && n8nMajor >= 2;
		const inbox = logged ? await AlertInbox.start() : undefined;
		return new BuilderPasses(config, n8nMajor, model, inbox);
	}

	private get examplesDir(): string {
		return join(this.config.projectRoot, 'examples');
	}

	credentials(): JsonObject[] {
		return this.model ? agentCredentials(this.model) : [];
	}

	/**
	 * The examples bound for the run, and each file as it is, to show that it imports unchanged
	 * (given an id only: `n8n import:workflow` needs one, the editor's import makes one up).
	 */
	workflows(): JsonObject[] {
		const asItIs = (file: string, id: string) => ({ ...readExample(this.examplesDir, file), id });
		return [
			...(this.model ? agentWorkflows(this.examplesDir, this.n8nMajor) : []),
			...(this.model ? [asItIs(AGENT_EXAMPLE, 'tw24AgentAsItIs01')] : []),
			...(this.inbox ? [erasureLogWorkflow(this.examplesDir, this.inbox)] : []),
			...(this.inbox ? [asItIs(ERASURE_LOG_EXAMPLE, 'tw24LogAsItIs0001')] : []),
		];
	}

	/** Before `n8n start`: the passes' triggers made live. */
	async publish(ctx: ScenarioContext): Promise<void> {
		if (this.model) await publishAgentWorkflows(ctx);
		if (this.inbox) await publishErasureLogWorkflow(ctx);
	}

	/** With `n8n start` running. */
	async run(ctx: ScenarioContext): Promise<void> {
		const model = this.model;
		if (model) await this.timed(ctx, 'agent', async () => await runAgentPass(ctx, model));
		const inbox = this.inbox;
		if (inbox)
			await this.timed(ctx, 'erasure-log', async () => await runErasureLogPass(ctx, inbox));
		else if (passWanted(this.config, 'erasure-log')) {
			const why = `${ctx.label}: erasure-log pass skipped: the example finds its Data Table by name, which n8n 1.x's Data Table node cannot (only from the list or by ID)`;
			step(why);
			ctx.checks.noteRun(why);
		}
	}

	async stop(): Promise<void> {
		await this.model?.stop();
		await this.inbox?.stop();
	}

	private async timed(
		ctx: ScenarioContext,
		pass: SinglePass,
		action: () => Promise<void>,
	): Promise<void> {
		step(`${ctx.label}: ${pass} pass`);
		const startedAt = Date.now();
		try {
			await action();
		} catch (error) {
			ctx.checks.fail(`${ctx.label} ${pass}`, `${pass} pass`, error);
		}
		const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
		step(`${ctx.label}: ${pass} pass took ${seconds} s`);
		ctx.checks.noteRun(`${ctx.label}: ${pass} pass took ${seconds} s`);
	}
}
