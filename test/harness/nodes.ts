/**
 * The harness's own node types: the start node that emits the test's items, a node that passes
 * its items on (to wire an output to), and a stand-in for n8n's Loop Over Items
 * (`n8n-nodes-base.splitInBatches` v3), which n8n-nodes-base would bring with it but is not
 * installed here.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import type { AnyNodeType } from './runtime';

export const ITEM_SOURCE_NODE_TYPE = 'n8n-nodes-harness.itemSource';
export const PASSTHROUGH_NODE_TYPE = 'n8n-nodes-harness.passthrough';
export const LOOP_NODE_TYPE = 'n8n-nodes-harness.loopOverItems';

/** The start node: emits the items it was given, like a manual trigger with pinned data. */
class ItemSource implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Harness Items',
		name: 'itemSource',
		group: ['input'],
		version: 1,
		description: 'Emits the items the harness was given',
		defaults: { name: 'Items' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Items (JSON)', name: 'itemsJson', type: 'json', default: '[]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// Raw, so that item data that looks like an expression is never evaluated.
		const itemsJson = this.getNodeParameter('itemsJson', 0, '[]', { rawExpressions: true });
		const items = JSON.parse(String(itemsJson)) as IDataObject[];
		return [items.map((json) => ({ json }))];
	}
}

/** A workflow node of the harness source type that emits `items`. */
export function itemSourceNode(items: IDataObject[], name = 'Items'): INode {
	return {
		id: `harness-${name}`,
		name,
		type: ITEM_SOURCE_NODE_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: { itemsJson: JSON.stringify(items) },
	};
}

/** Passes its input on unchanged: what a branch's next node would receive. */
class Passthrough implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Harness Passthrough',
		name: 'passthrough',
		group: ['transform'],
		version: 1,
		description: 'Passes its items on',
		defaults: { name: 'Passthrough' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

interface LoopState {
	/** Items not handed out yet. */
	left: INodeExecutionData[];
	/** What came back from the loop, in order. */
	returned: INodeExecutionData[];
}

/**
 * Loop Over Items as n8n's v3 does it: on its first run it keeps its input in the node's
 * execution context and hands out the first `batchSize` items on output 1 ("loop"); each time
 * the loop's end feeds items back, it keeps them and hands out the next batch; once none is
 * left, everything that came back leaves by output 0 ("done").
 */
class LoopOverItems implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Harness Loop Over Items',
		name: 'loopOverItems',
		group: ['organization'],
		version: 1,
		description: 'Hands its items out in batches, like Loop Over Items',
		defaults: { name: 'Loop Over Items' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['done', 'loop'],
		properties: [{ displayName: 'Batch Size', name: 'batchSize', type: 'number', default: 10 }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const context = this.getContext('node') as { loop?: LoopState };
		const batchSize = this.getNodeParameter('batchSize', 0) as number;
		const input = this.getInputData();
		if (context.loop === undefined) {
			context.loop = {
				left: input.map((item, index) => ({ ...item, pairedItem: { item: index } })),
				returned: [],
			};
		} else {
			context.loop.returned.push(...input);
		}
		const batch = context.loop.left.splice(0, batchSize);
		if (batch.length > 0) return [[], batch];
		const done = context.loop.returned.map((item, index) => ({
			...item,
			pairedItem: { item: index },
		}));
		context.loop = undefined;
		return [done, []];
	}
}

/** A workflow node of the loop stand-in, handing out `batchSize` items at a time. */
export function loopNode(batchSize: number, name = 'Loop Over Items'): INode {
	return {
		id: `harness-${name}`,
		name,
		type: LOOP_NODE_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: { batchSize },
	};
}

export function passthroughNode(name: string): INode {
	return {
		id: `harness-${name}`,
		name,
		type: PASSTHROUGH_NODE_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
}

export const HARNESS_NODE_TYPES: Record<string, AnyNodeType> = {
	[ITEM_SOURCE_NODE_TYPE]: new ItemSource(),
	[PASSTHROUGH_NODE_TYPE]: new Passthrough(),
	[LOOP_NODE_TYPE]: new LoopOverItems(),
};
